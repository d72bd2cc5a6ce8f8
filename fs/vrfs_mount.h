/*
 * vrfs_mount.h — `vrfs mount`: the FUSE low-level front end on the client library.
 */
#ifndef FS_VRFS_MOUNT_H
#define FS_VRFS_MOUNT_H

/* argv[0] is "mount" (or the program name when run as a mount helper). Returns the exit status. */
int vrfs_mount_main(int argc, char **argv);

#endif
