//! Writes results as a JUnit XML report (the format CI systems display), escaping text
//! and dropping characters XML 1.0 cannot carry.

use std::fmt::Write;

use crate::results::{Outcome, Suite, Totals};

/// The whole report for `suites`.
pub fn render(suites: &[Suite]) -> String {
    let totals = Totals::of(suites);
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    // Writing to a String cannot fail.
    let _ = writeln!(
        xml,
        "<testsuites name=\"cargo xtask test\" tests=\"{}\" failures=\"{}\" skipped=\"{}\">",
        totals.passed + totals.failed + totals.skipped,
        totals.failed,
        totals.skipped
    );
    for suite in suites {
        render_suite(&mut xml, suite);
    }
    xml.push_str("</testsuites>\n");
    xml
}

fn render_suite(xml: &mut String, suite: &Suite) {
    let totals = Totals::of(std::slice::from_ref(suite));
    let _ = write!(
        xml,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\"",
        escape(&suite.name),
        suite.cases.len(),
        totals.failed,
        totals.skipped
    );
    if let Some(duration) = suite.duration {
        let _ = write!(xml, " time=\"{:.3}\"", duration.as_secs_f64());
    }
    xml.push_str(">\n");
    for case in &suite.cases {
        let _ = write!(
            xml,
            "    <testcase classname=\"{}\" name=\"{}\"",
            escape(&suite.name),
            escape(&case.name)
        );
        match &case.outcome {
            Outcome::Pass => xml.push_str("/>\n"),
            Outcome::Fail(reason) => {
                let _ = write!(
                    xml,
                    ">\n      <failure message=\"{}\"/>\n    </testcase>\n",
                    escape(reason)
                );
            }
            Outcome::Skip(reason) => {
                let _ = write!(
                    xml,
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                    escape(reason)
                );
            }
        }
    }
    if let Some(log) = &suite.console_log {
        let _ = writeln!(xml, "    <system-out>{}</system-out>", escape(log));
    }
    xml.push_str("  </testsuite>\n");
}

/// Escapes text for use in both element content and attribute values. Characters XML 1.0
/// forbids (most C0 controls, such as the ESC of a terminal colour sequence, and U+FFFE,
/// U+FFFF) are written visibly as `\xNN` / `\u{NNNN}` instead.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            // Kept literal in content; attribute normalisation would turn them into
            // spaces, so write them as character references.
            '\t' => escaped.push_str("&#9;"),
            '\n' => escaped.push_str("&#10;"),
            '\r' => escaped.push_str("&#13;"),
            '\u{0}'..='\u{1f}' => {
                let _ = write!(escaped, "\\x{:02x}", u32::from(character));
            }
            '\u{fffe}' | '\u{ffff}' => {
                let _ = write!(escaped, "\\u{{{:04x}}}", u32::from(character));
            }
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Case;
    use std::time::Duration;

    #[test]
    fn escapes_markup_quotes_and_forbidden_characters() {
        assert_eq!(
            escape(r#"a<b>&"c"'d'"#),
            "a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;"
        );
        assert_eq!(escape("\u{1b}[31mred\u{7}"), "\\x1b[31mred\\x07");
        assert_eq!(escape("line\r\nnext\tx"), "line&#13;&#10;next&#9;x");
        assert_eq!(escape("\u{ffff}é"), "\\u{ffff}é");
    }

    #[test]
    fn report_structure_and_counts() {
        let mut host = Suite::new("host::sel4");
        host.cases = vec![
            Case::pass("tests::a"),
            Case::fail("tests::b", "panicked at src/lib.rs:1:1: 1 < 2"),
            Case {
                name: "tests::c".into(),
                outcome: Outcome::Skip("ignored".into()),
            },
        ];
        let mut boot = Suite::new("boot");
        boot.cases = vec![Case::pass("halted")];
        boot.console_log = Some("hello <world>\n".into());
        boot.duration = Some(Duration::from_millis(1500));
        let xml = render(&[host, boot]);
        let expected = "\
<?xml version=\"1.0\" encoding=\"UTF-8\"?>
<testsuites name=\"cargo xtask test\" tests=\"4\" failures=\"1\" skipped=\"1\">
  <testsuite name=\"host::sel4\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\">
    <testcase classname=\"host::sel4\" name=\"tests::a\"/>
    <testcase classname=\"host::sel4\" name=\"tests::b\">
      <failure message=\"panicked at src/lib.rs:1:1: 1 &lt; 2\"/>
    </testcase>
    <testcase classname=\"host::sel4\" name=\"tests::c\">
      <skipped message=\"ignored\"/>
    </testcase>
  </testsuite>
  <testsuite name=\"boot\" tests=\"1\" failures=\"0\" errors=\"0\" skipped=\"0\" time=\"1.500\">
    <testcase classname=\"boot\" name=\"halted\"/>
    <system-out>hello &lt;world&gt;&#10;</system-out>
  </testsuite>
</testsuites>
";
        assert_eq!(xml, expected);
    }
}
