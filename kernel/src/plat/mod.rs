//! The board boundary: everything that names a device or its address.

mod qemu_virt;
pub use qemu_virt::*;
