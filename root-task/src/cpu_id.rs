//! EL0 reads of the CPU ID registers (`mrs Xt, MIDR_EL1`, `ID_AA64ISAR0_EL1`, ...), emulated
//! as Linux does because AT_HWCAP carries HWCAP_CPUID: glibc's startup reads MIDR_EL1 this
//! way. The read traps as a UserException (ESR class 0x00, or 0x18 with FEAT_IDST); the
//! server decodes it (linux_personality::id_registers), sets Xt and steps over it. Plain
//! seL4 fault handling: no kernel support needed.

use crate::process::Tid;
use crate::server::{Answer, FsFiles, Server};
use linux_personality::id_registers::{self, Destination, EmulatedRead};
use linux_personality::signal::Signal;
use sel4::cap_type::Tcb;
use sel4::{user_exception, Cap, UserContext};

/// ESR class of a trapped MSR/MRS/system instruction (FEAT_IDST reports ID reads so).
pub const EC_SYSTEM_REGISTER: u64 = 0x18;
/// ESR class of an instruction with an unknown reason (an undefined `mrs` at EL0).
const EC_UNKNOWN: u64 = 0x00;
/// The ISS field of an ESR.
const ISS_MASK: u64 = 0x01ff_ffff;

impl Server {
    /// Emulates the ID register read that raised this UserException, if it is one; `None`
    /// leaves the exception to become SIGILL.
    pub fn emulate_id_register_read(&mut self, tid: Tid, words: &[u64; 13]) -> Option<Answer> {
        let fault_ip = words[user_exception::FAULT_IP];
        let syndrome = words[user_exception::NUMBER];
        let read = match (syndrome >> 26) & 0x3f {
            EC_UNKNOWN => id_registers::decode_instruction(
                self.fetch_instruction(tid, fault_ip)?,
                &crate::plat::CPU_ID_REGISTERS,
            ),
            EC_SYSTEM_REGISTER => id_registers::decode_trap_syndrome(
                u32::try_from(syndrome & ISS_MASK).ok()?,
                &crate::plat::CPU_ID_REGISTERS,
            ),
            _ => None,
        }?;
        let tcb: Cap<Tcb> = Cap::from_bits(self.threads.get(&tid)?.tcb);
        let Ok(mut context) = tcb.tcb_read_registers(false) else {
            self.kill_process_of(tid, Signal::SIGKILL);
            return Some(Answer::None);
        };
        set_destination(&mut context, read);
        context.pc = fault_ip.wrapping_add(4);
        context.sp = words[user_exception::SP];
        context.spsr = words[user_exception::SPSR];
        if self.signal_work(tid) {
            self.deliver_and_resume(tid, context, crate::signals::Interrupted::No, None);
            return Some(Answer::None);
        }
        if tcb.tcb_write_registers(false, &context).is_err() {
            self.kill_process_of(tid, Signal::SIGKILL);
            return Some(Answer::None);
        }
        let mut reply = [0u64; 12];
        reply[0] = context.pc;
        reply[1] = context.sp;
        reply[2] = context.spsr;
        Some(Answer::Reply {
            length: user_exception::REPLY_LENGTH,
            words: reply,
        })
    }

    /// The instruction word at `address` in `tid`'s address space, if it is readable.
    pub fn fetch_instruction(&mut self, tid: Tid, address: u64) -> Option<u32> {
        let pid = self.memory_owner(self.threads.get(&tid)?.pid);
        let Server {
            objects,
            processes,
            fs,
            ..
        } = self;
        let process = processes.get_mut(&pid)?;
        let mut memory = crate::user_memory::UserMemory {
            space: &mut process.space,
            objects,
            files: &FsFiles(fs),
        };
        let mut instruction = [0u8; 4];
        memory.read(address, &mut instruction).ok()?;
        Some(u32::from_le_bytes(instruction))
    }
}

/// Writes the read's value to its destination register (XZR: nowhere).
fn set_destination(context: &mut UserContext, read: EmulatedRead) {
    let Destination::Register(number) = read.destination else {
        return;
    };
    let value = read.value;
    let c = context;
    let slot = match number {
        0 => &mut c.x0,
        1 => &mut c.x1,
        2 => &mut c.x2,
        3 => &mut c.x3,
        4 => &mut c.x4,
        5 => &mut c.x5,
        6 => &mut c.x6,
        7 => &mut c.x7,
        8 => &mut c.x8,
        9 => &mut c.x9,
        10 => &mut c.x10,
        11 => &mut c.x11,
        12 => &mut c.x12,
        13 => &mut c.x13,
        14 => &mut c.x14,
        15 => &mut c.x15,
        16 => &mut c.x16,
        17 => &mut c.x17,
        18 => &mut c.x18,
        19 => &mut c.x19,
        20 => &mut c.x20,
        21 => &mut c.x21,
        22 => &mut c.x22,
        23 => &mut c.x23,
        24 => &mut c.x24,
        25 => &mut c.x25,
        26 => &mut c.x26,
        27 => &mut c.x27,
        28 => &mut c.x28,
        29 => &mut c.x29,
        30 => &mut c.x30,
        _ => return,
    };
    *slot = value;
}
