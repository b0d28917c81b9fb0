// The builder machine's root device: where the launch template puts its disk, and where a
// self-test's launch puts a smaller one in its place (RunInstances' block-device mapping of the
// same device overrides the template's).

export const ROOT_DEVICE = '/dev/sda1';
