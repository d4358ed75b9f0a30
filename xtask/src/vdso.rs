//! Builds `target/vdso/vdso.so` and checks it: compiles the `vdso` crate as a
//! position-independent staticlib, links it with rust-lld using `vdso/vdso.lds` and
//! `vdso/vdso.ver`, then runs `vdso_check::check` and a disassembly scan, failing the build
//! on any violation (Linux's vdsomunge and relocation check play the same role).
//! Also `cargo xtask vdso-check FILE`.
//!
//! Depends only on std and `vdso-check`, so `crates/vdso-check/tests/real_image.rs` can
//! include this file to test the checker against the real artefact.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use vdso_check::{Export, VdsoInfo};

const TARGET: &str = "aarch64-unknown-none";
/// Flags for the vDSO crates only; a separate target directory keeps them (and the release
/// profile overrides below) from invalidating any other build's cache.
const RUSTFLAGS: [&str; 2] = ["-Crelocation-model=pic", "-Cforce-unwind-tables=no"];

/// Builds and checks the vDSO; returns the path of `target/vdso/vdso.so`.
///
/// # Errors
/// A message naming the failed step: the cargo build (with its diagnostics), the link, each
/// checker violation, or x18 use found in the disassembly. A rejected image is kept as
/// `vdso.so.rejected` and any previous `vdso.so` is removed, so nothing stale is packed.
pub fn build(workspace_root: &Path) -> Result<PathBuf, String> {
    let output_directory = workspace_root.join("target").join("vdso");
    let cargo_directory = output_directory.join("cargo");
    let staticlib = compile(workspace_root, &cargo_directory)?;
    let tools = Tools::locate(workspace_root)?;
    let image_path = output_directory.join("vdso.so");
    let candidate = output_directory.join("vdso.so.new");
    link(workspace_root, &tools, &staticlib, &candidate)?;

    let verdict = verify(&tools, &candidate);
    match verdict {
        Ok(summary) => {
            std::fs::rename(&candidate, &image_path)
                .map_err(|error| format!("renaming {}: {error}", candidate.display()))?;
            println!("vdso: {}: {summary}", image_path.display());
            Ok(image_path)
        }
        Err(problems) => {
            let rejected = output_directory.join("vdso.so.rejected");
            // Best effort: the error below is what matters.
            let _ = std::fs::remove_file(&image_path);
            let _ = std::fs::rename(&candidate, &rejected);
            Err(format!(
                "the vDSO fails its checks (image kept at {}):\n  {}",
                rejected.display(),
                problems.join("\n  ")
            ))
        }
    }
}

/// `cargo xtask vdso-check FILE`: prints each violation, or an `ok:` summary. Returns the
/// process exit status: 0 if the image passes, 1 if not or if it cannot be read.
pub fn check_command(path: &Path) -> i32 {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) => {
            eprintln!("vdso-check: cannot read {}: {error}", path.display());
            return 1;
        }
    };
    match vdso_check::check(&bytes) {
        Ok(info) => {
            println!("ok: {}: {}", path.display(), describe(&info));
            0
        }
        Err(violations) => {
            for violation in &violations {
                println!("{}: {violation}", path.display());
            }
            println!("{}: {} violation(s)", path.display(), violations.len());
            1
        }
    }
}

/// One line about a valid image.
fn describe(info: &VdsoInfo) -> String {
    let text = info.text_size.map_or_else(
        || "text size unknown (no section headers)".to_owned(),
        |size| format!("text {size} bytes"),
    );
    let exports: Vec<String> = Export::ALL
        .iter()
        .map(|&export| format!("{} at {:#x}", export.name(), info.offset(export)))
        .collect();
    format!(
        "{} image {} bytes ({} pages), file {} bytes, {text}; {}",
        vdso_check::SONAME,
        info.image_size,
        info.image_size.div_ceil(4096),
        info.file_size,
        exports.join(", ")
    )
}

/// `cargo build -p vdso` for aarch64 with PIC, in its own target directory.
fn compile(workspace_root: &Path, cargo_directory: &Path) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(&cargo)
        .current_dir(workspace_root)
        .args([
            "build",
            "--release",
            "--quiet",
            "--color",
            "never",
            "-p",
            "vdso",
            "--target",
            TARGET,
        ])
        .arg("--manifest-path")
        .arg(workspace_root.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", cargo_directory)
        // CARGO_ENCODED_RUSTFLAGS takes precedence over RUSTFLAGS and any config rustflags.
        .env("CARGO_ENCODED_RUSTFLAGS", RUSTFLAGS.join("\u{1f}"))
        // The image carries no DWARF (it would be loaded and mapped with the rest); its
        // .symtab names every function for debuggers.
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_PANIC", "abort")
        .env("CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS", "false")
        .env("CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS", "false")
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("running {}: {error}", Path::new(&cargo).display()))?;
    if !output.status.success() {
        return Err(format!(
            "cargo build -p vdso --target {TARGET} failed:\n{}",
            String::from_utf8_lossy(&output.stderr).trim_end()
        ));
    }
    let staticlib = cargo_directory
        .join(TARGET)
        .join("release")
        .join("libvdso.a");
    if staticlib.is_file() {
        Ok(staticlib)
    } else {
        Err(format!(
            "cargo build -p vdso produced no {}",
            staticlib.display()
        ))
    }
}

/// rust-lld and llvm-objdump from the pinned toolchain (rust-toolchain.toml installs the
/// llvm-tools component).
struct Tools {
    linker: PathBuf,
    disassembler: PathBuf,
}

impl Tools {
    fn locate(workspace_root: &Path) -> Result<Self, String> {
        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
        let sysroot = run_for_output(
            Command::new(&rustc)
                .current_dir(workspace_root)
                .args(["--print", "sysroot"]),
        )?;
        let version = run_for_output(Command::new(&rustc).current_dir(workspace_root).arg("-vV"))?;
        let host = version
            .lines()
            .find_map(|line| line.strip_prefix("host: "))
            .ok_or_else(|| "rustc -vV printed no host triple".to_owned())?;
        let bin = Path::new(sysroot.trim())
            .join("lib")
            .join("rustlib")
            .join(host.trim())
            .join("bin");
        let tools = Self {
            linker: bin.join("rust-lld"),
            disassembler: bin.join("llvm-objdump"),
        };
        for tool in [&tools.linker, &tools.disassembler] {
            if !tool.is_file() {
                return Err(format!(
                    "{} not found (rust-lld ships with rustc; llvm-objdump with the llvm-tools component)",
                    tool.display()
                ));
            }
        }
        Ok(tools)
    }
}

/// Links the staticlib into a shared object laid out by the linker script.
fn link(
    workspace_root: &Path,
    tools: &Tools,
    staticlib: &Path,
    output: &Path,
) -> Result<(), String> {
    let vdso_directory = workspace_root.join("vdso");
    let mut command = Command::new(&tools.linker);
    command
        .args([
            "-flavor",
            "gnu",
            "-shared",
            "--hash-style=both",
            "-Bsymbolic",
            "-soname",
            vdso_check::SONAME,
        ])
        .arg("--version-script")
        .arg(vdso_directory.join("vdso.ver"))
        .arg("-T")
        .arg(vdso_directory.join("vdso.lds"))
        // Read-only .dynamic (no DT_DEBUG), nothing undefined, unused sections dropped, no
        // build-id note, no DWARF.
        .args([
            "-z",
            "rodynamic",
            "-z",
            "max-page-size=4096",
            "-z",
            "noexecstack",
            "-z",
            "defs",
        ])
        .args([
            "--gc-sections",
            "--build-id=none",
            "--strip-debug",
            "--pack-dyn-relocs=none",
        ]);
    for export in Export::ALL {
        command.args(["-u", export.name()]);
    }
    command.arg(staticlib).arg("-o").arg(output);
    run_for_output(&mut command).map(|_| ())
}

/// The checker, then the code properties it cannot see in the ELF structure.
fn verify(tools: &Tools, image: &Path) -> Result<String, Vec<String>> {
    let bytes = std::fs::read(image)
        .map_err(|error| vec![format!("reading {}: {error}", image.display())])?;
    let info = vdso_check::check(&bytes).map_err(|violations| {
        violations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    })?;
    let disassembly = run_for_output(Command::new(&tools.disassembler).args([
        OsStr::new("-d"),
        OsStr::new("-t"),
        OsStr::new("--no-show-raw-insn"),
        image.as_os_str(),
    ]))
    .map_err(|error| vec![error])?;
    let code = scan_disassembly(&disassembly);
    let mut problems: Vec<String> = code
        .x18_uses
        .iter()
        .map(|line| {
            format!("code uses x18, the platform register the vDSO must leave alone: {line}")
        })
        .collect();
    if code.vvar_address != Some(VVAR_ADDRESS) {
        problems.push(format!(
            "__vvar_page is at {}, want {VVAR_ADDRESS:#x} (one page below the image, where the root task maps the data page)",
            code.vvar_address
                .map_or_else(|| "no address (missing from .symtab)".to_owned(), |address| format!("{address:#x}"))
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(format!(
        "{}; largest stack frame {} bytes",
        describe(&info),
        code.largest_frame
    ))
}

/// Where the linker script must put the data page: one page (vdso_data::PAGE_SIZE) below
/// the image, which is linked at 0.
const VVAR_ADDRESS: u64 = 0u64.wrapping_sub(4096);

/// What the disassembly shows.
#[derive(Debug, Default, PartialEq, Eq)]
struct CodeScan {
    /// Instructions naming x18 or w18.
    x18_uses: Vec<String>,
    /// The largest single stack adjustment (`sub sp, sp, #n` or a pre-indexed `[sp, #-n]!`).
    largest_frame: u64,
    /// `__vvar_page`'s value in the symbol table (`-t`).
    vvar_address: Option<u64>,
}

fn scan_disassembly(disassembly: &str) -> CodeScan {
    let mut scan = CodeScan::default();
    for line in disassembly.lines() {
        // Symbol table lines look like "fffffffffffff000 l  .hash\t0000000000000000 .hidden __vvar_page".
        if line.ends_with(" __vvar_page") {
            scan.vvar_address = line
                .split_whitespace()
                .next()
                .and_then(|value| u64::from_str_radix(value, 16).ok());
            continue;
        }
        // Instruction lines look like "     2c4:      \tmov\tx8, #0x8b".
        let Some((_, instruction)) = line.split_once(":\t").or_else(|| line.split_once(": "))
        else {
            continue;
        };
        let instruction = instruction.trim();
        let operands = instruction.split(|character: char| !character.is_ascii_alphanumeric());
        if operands.clone().any(|word| word == "x18" || word == "w18") {
            scan.x18_uses.push(line.trim().to_owned());
        }
        let mnemonic = instruction.split_whitespace().next().unwrap_or("");
        let frame = if mnemonic == "sub" && instruction.contains("sp, sp, #") {
            instruction
                .rsplit_once('#')
                .and_then(|(_, value)| parse_immediate(value))
        } else if instruction.contains("[sp, #-") && instruction.ends_with("]!") {
            instruction
                .split_once("[sp, #-")
                .and_then(|(_, value)| parse_immediate(value.trim_end_matches("]!")))
        } else {
            None
        };
        scan.largest_frame = scan.largest_frame.max(frame.unwrap_or(0));
    }
    scan
}

fn parse_immediate(text: &str) -> Option<u64> {
    let text = text.trim();
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// Runs a command, returning stdout, or an error with its stderr.
fn run_for_output(command: &mut Command) -> Result<String, String> {
    let shown = format!("{} {}", command.get_program().to_string_lossy(), {
        let arguments: Vec<String> = command
            .get_args()
            .map(|argument| argument.to_string_lossy().into_owned())
            .collect();
        arguments.join(" ")
    });
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("running {shown}: {error}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "{shown} failed:\n{}",
            String::from_utf8_lossy(&output.stderr).trim_end()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disassembly_scan_finds_x18_and_the_largest_frame() {
        let disassembly = "\
fffffffffffff000 l       .hash\t0000000000000000 .hidden __vvar_page
0000000000000300 <__kernel_clock_gettime>:
     300:      \tsub\tsp, sp, #0x30
     304:      \tstp\tx29, x30, [sp, #-0x40]!
     308:      \tmov\tx8, #0x8b
     30c:      \tldr\tx180, [x1]
     310:      \tadd\tw18, w1, #0x1
";
        let scan = scan_disassembly(disassembly);
        assert_eq!(scan.largest_frame, 0x40);
        assert_eq!(scan.vvar_address, Some(VVAR_ADDRESS));
        assert_eq!(
            scan.x18_uses,
            vec!["310:      \tadd\tw18, w1, #0x1".to_owned()]
        );
    }

    #[test]
    fn clean_disassembly_has_no_findings() {
        let scan = scan_disassembly("     2c4:      \tmov\tx8, #0x8b\n     2c8:      \tsvc\t#0\n");
        assert_eq!(scan, CodeScan::default());
    }
}
