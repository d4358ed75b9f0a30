//! Invocation decoders: each validates an invocation completely and changes nothing,
//! returning a value the kernel then performs (which cannot fail) or the syscall error
//! to reply with.

mod cnode;
mod untyped;

pub use cnode::{decode_cnode_invocation, CNodeInvocation};
pub use untyped::{commit_retype, decode_untyped_invocation, UntypedRetype};
