//! Runs `cargo build` for one binary package quietly and returns the ELF it produced, read
//! from cargo's JSON messages rather than guessed from the target directory layout.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;

use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// One `cargo build --release -p <package> --target <target>`.
#[derive(Debug)]
pub struct BinaryBuild<'a> {
    pub package: &'a str,
    pub target: &'a str,
    /// Extra environment for the build (e.g. the loader's payload paths).
    pub environment: Vec<(&'static str, OsString)>,
}

/// Builds the package and returns the absolute path of its executable.
///
/// # Errors
/// Fails with cargo's captured diagnostics if the build fails, or if the package does not
/// produce exactly one executable (preferring the one named after the package).
pub fn build_binary(workspace: &Workspace, build: &BinaryBuild<'_>) -> Result<PathBuf> {
    let mut command = workspace.cargo();
    command
        .args(["build", "--release", "--color", "never"])
        .args(["-p", build.package, "--target", build.target])
        .arg("--message-format=json-render-diagnostics")
        .stdin(Stdio::null());
    for (name, value) in &build.environment {
        command.env(name, value);
    }
    let output = command
        .output()
        .map_err(|error| Error::io("running cargo build", error))?;
    if !output.status.success() {
        let diagnostics = String::from_utf8_lossy(&output.stderr);
        return Err(Error::failed(format!(
            "cargo build -p {} failed: {}\n{}",
            build.package,
            first_error(&diagnostics).unwrap_or("see the output below"),
            diagnostics.trim_end()
        )));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let executables: Vec<Artifact> = stdout.lines().filter_map(parse_artifact).collect();
    choose_executable(build.package, executables)
}

/// The first error cargo or rustc reported, e.g. "`#[panic_handler]` function required".
fn first_error(diagnostics: &str) -> Option<&str> {
    let line = diagnostics.lines().find(|line| line.starts_with("error"))?;
    Some(line.strip_prefix("error: ").unwrap_or(line))
}

/// An executable cargo reported building.
#[derive(Debug, PartialEq, Eq)]
pub struct Artifact {
    pub target_name: String,
    pub executable: PathBuf,
}

fn choose_executable(package: &str, mut artifacts: Vec<Artifact>) -> Result<PathBuf> {
    if artifacts.len() > 1 {
        // A package may have several binaries; the main one shares the package's name.
        artifacts.retain(|artifact| artifact.target_name == package);
    }
    match artifacts.pop() {
        Some(artifact) if artifacts.is_empty() => Ok(artifact.executable),
        Some(_) => Err(Error::failed(format!(
            "package {package} builds several executables; cannot tell which to use"
        ))),
        None => Err(Error::failed(format!(
            "cargo reported no executable for package {package}"
        ))),
    }
}

/// Reads a `compiler-artifact` message that names an executable.
pub fn parse_artifact(line: &str) -> Option<Artifact> {
    if !line.starts_with("{\"reason\":\"compiler-artifact\"") {
        return None;
    }
    let executable = json_string_field(line, "executable")?;
    // The first "name" in an artifact message is the target's (inside "target").
    let target_name = json_string_field(line, "name")?;
    Some(Artifact {
        target_name,
        executable: PathBuf::from(executable),
    })
}

/// The value of the first `"key":"value"` pair in a JSON object printed on one line, with
/// escapes decoded. `None` if absent or not a string (e.g. `null`). Inside JSON strings a
/// quote is always escaped, so the bare pattern cannot match inside another value.
pub fn json_string_field(json: &str, key: &str) -> Option<String> {
    let pattern = format!("\"{key}\":\"");
    let start = json.find(&pattern)? + pattern.len();
    let mut value = String::new();
    let mut characters = json[start..].chars();
    while let Some(character) = characters.next() {
        match character {
            '"' => return Some(value),
            '\\' => match characters.next()? {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                'r' => value.push('\r'),
                'b' => value.push('\u{8}'),
                'f' => value.push('\u{c}'),
                'u' => {
                    let hex: String = characters.by_ref().take(4).collect();
                    let code = u32::from_str_radix(&hex, 16).ok()?;
                    // Surrogate pairs do not occur in the paths and names read here.
                    value.push(char::from_u32(code)?);
                }
                other => value.push(other),
            },
            other => value.push(other),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_executable_and_target_name_from_artifact() {
        let line = r#"{"reason":"compiler-artifact","package_id":"path+file:///w/kernel#0.1.0","manifest_path":"/w/kernel/Cargo.toml","target":{"kind":["bin"],"crate_types":["bin"],"name":"kernel","src_path":"/w/kernel/src/main.rs","edition":"2021","doc":true,"doctest":false,"test":true},"profile":{},"features":[],"filenames":["/w/target/aarch64-unknown-none-softfloat/release/kernel"],"executable":"/w/target/aarch64-unknown-none-softfloat/release/kernel","fresh":true}"#;
        assert_eq!(
            parse_artifact(line),
            Some(Artifact {
                target_name: "kernel".into(),
                executable: PathBuf::from(
                    "/w/target/aarch64-unknown-none-softfloat/release/kernel"
                ),
            })
        );
    }

    #[test]
    fn libraries_and_other_messages_are_not_executables() {
        let library = r#"{"reason":"compiler-artifact","target":{"name":"sel4"},"filenames":["/w/libsel4.rlib"],"executable":null,"fresh":true}"#;
        assert_eq!(parse_artifact(library), None);
        let finished = r#"{"reason":"build-finished","success":true}"#;
        assert_eq!(parse_artifact(finished), None);
    }

    #[test]
    fn the_first_error_summarises_a_failed_build() {
        let diagnostics = "   Compiling kernel v0.1.0\nwarning: unused\nerror[E0308]: mismatched types\n --> src/main.rs:1:1\nerror: could not compile `kernel`\n";
        assert_eq!(
            first_error(diagnostics),
            Some("error[E0308]: mismatched types")
        );
        assert_eq!(
            first_error("error: no such package\n"),
            Some("no such package")
        );
        assert_eq!(first_error("   Compiling x\n"), None);
    }

    #[test]
    fn string_escapes_are_decoded() {
        let json = r#"{"a":1,"path":"C:\\dir\\\"q\" \u0041\/x"}"#;
        assert_eq!(
            json_string_field(json, "path").as_deref(),
            Some("C:\\dir\\\"q\" A/x")
        );
        assert_eq!(json_string_field(r#"{"path":"unterminated"#, "path"), None);
        assert_eq!(json_string_field(r#"{"other":"x"}"#, "path"), None);
    }

    #[test]
    fn several_executables_resolve_to_the_package_named_one() {
        let artifacts = vec![
            Artifact {
                target_name: "helper".into(),
                executable: PathBuf::from("/helper"),
            },
            Artifact {
                target_name: "root-task".into(),
                executable: PathBuf::from("/root-task"),
            },
        ];
        assert_eq!(
            choose_executable("root-task", artifacts),
            Ok(PathBuf::from("/root-task"))
        );
        assert!(choose_executable("root-task", Vec::new()).is_err());
        let ambiguous = vec![
            Artifact {
                target_name: "a".into(),
                executable: PathBuf::from("/a"),
            },
            Artifact {
                target_name: "b".into(),
                executable: PathBuf::from("/b"),
            },
        ];
        assert!(choose_executable("root-task", ambiguous).is_err());
    }
}
