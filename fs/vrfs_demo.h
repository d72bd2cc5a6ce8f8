/*
 * vrfs_demo.h — `vrfs demo [DIR]`: a cluster and two mounts on loopback until Ctrl-C.
 */
#ifndef FS_VRFS_DEMO_H
#define FS_VRFS_DEMO_H

int vrfs_demo_main(int argc, char **argv);

#endif
