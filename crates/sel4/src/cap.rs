//! Capability pointers, typed capabilities (`Cap<T>`, as rust-sel4 spells them) and the
//! capability type tags DebugCapIdentify reports.

use core::marker::PhantomData;

/// A capability pointer: an address in a thread's CSpace (`seL4_CPtr`).
pub type CPtr = u64;

/// Marker types for [`Cap`], one per kind of capability.
pub mod cap_type {
    macro_rules! cap_types {
        ($($(#[$doc:meta])* $name:ident,)*) => {
            $(
                $(#[$doc])*
                #[derive(Clone, Copy, Debug, PartialEq, Eq)]
                pub struct $name;
                impl super::CapType for $name {
                    const NAME: &'static str = stringify!($name);
                }
            )*
        };
    }
    cap_types! {
        /// Any capability.
        Unspecified,
        Null,
        Untyped,
        Endpoint,
        Notification,
        Reply,
        CNode,
        Tcb,
        IrqControl,
        IrqHandler,
        Domain,
        /// A 4 KiB, 2 MiB or 1 GiB frame.
        Granule,
        PageTable,
        VSpace,
        AsidControl,
        AsidPool,
    }
}

/// A kind of capability, for typing [`Cap`].
pub trait CapType: Copy {
    /// The type's name, for messages.
    const NAME: &'static str;
}

/// A capability of type `T` in the current thread's CSpace, addressed by its CPtr at the
/// full word depth. Methods named after seL4's invocations live in `invocations` (aarch64).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Cap<T: CapType> {
    cptr: CPtr,
    _type: PhantomData<T>,
}

impl<T: CapType> Cap<T> {
    /// A capability at `cptr`; nothing is checked until it is invoked.
    pub const fn from_bits(cptr: CPtr) -> Self {
        Self {
            cptr,
            _type: PhantomData,
        }
    }

    /// The CPtr.
    pub const fn bits(self) -> CPtr {
        self.cptr
    }

    /// The same slot viewed as another type.
    pub const fn cast<U: CapType>(self) -> Cap<U> {
        Cap::from_bits(self.cptr)
    }
}

impl<T: CapType> core::fmt::Debug for Cap<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Cap<{}>({:#x})", T::NAME, self.cptr)
    }
}

/// The capability type tags of seL4's aarch64 `structures.bf`, as DebugCapIdentify returns
/// them (0 for an empty slot).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum CapTag {
    Null = 0,
    Frame = 1,
    Untyped = 2,
    PageTable = 3,
    Endpoint = 4,
    Notification = 6,
    Reply = 8,
    VSpace = 9,
    CNode = 10,
    AsidControl = 11,
    Thread = 12,
    AsidPool = 13,
    IrqControl = 14,
    IrqHandler = 16,
    Zombie = 18,
    Domain = 20,
    Smc = 25,
}

impl CapTag {
    /// Decodes a DebugCapIdentify result.
    pub fn from_word(word: u64) -> Option<Self> {
        use CapTag::*;
        Some(match word {
            0 => Null,
            1 => Frame,
            2 => Untyped,
            3 => PageTable,
            4 => Endpoint,
            6 => Notification,
            8 => Reply,
            9 => VSpace,
            10 => CNode,
            11 => AsidControl,
            12 => Thread,
            13 => AsidPool,
            14 => IrqControl,
            16 => IrqHandler,
            18 => Zombie,
            20 => Domain,
            25 => Smc,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_caps_keep_their_cptr() {
        let cap: Cap<cap_type::Tcb> = Cap::from_bits(1);
        assert_eq!(cap.bits(), 1);
        assert_eq!(cap.cast::<cap_type::Unspecified>().bits(), 1);
        assert_eq!(format!("{cap:?}"), "Cap<Tcb>(0x1)");
        assert_eq!(CapTag::from_word(9), Some(CapTag::VSpace));
        assert_eq!(CapTag::from_word(5), None);
    }
}
