//! Scores and signatures, printed exactly as sacrebleu 2.6 prints them
//! (text and `-f json`), with retarget's own version in the signature.

use std::sync::Arc;

/// The `version:` value of retarget's signatures.
pub const VERSION: &str = concat!("retarget-", env!("CARGO_PKG_VERSION"));

/// A metric signature: ordered `key:value` fields, `version` last. Cheap to
/// clone (sentence-level scores each carry one) and formatted once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    fields: Arc<[(&'static str, String)]>,
    text: Arc<str>,
}

impl Signature {
    /// `nrefs`, then the metric's own fields, then `version`.
    pub fn new(nrefs: usize, metric_fields: Vec<(&'static str, String)>) -> Self {
        let mut fields = vec![("nrefs", nrefs.to_string())];
        fields.extend(metric_fields);
        fields.push(("version", VERSION.to_string()));
        let text = fields
            .iter()
            .map(|(k, v)| format!("{k}:{v}"))
            .collect::<Vec<_>>()
            .join("|");
        Signature {
            fields: fields.into(),
            text: text.into(),
        }
    }

    /// The fields in order.
    pub fn fields(&self) -> &[(&'static str, String)] {
        &self.fields
    }

    /// `nrefs:1|case:mixed|...|version:...`.
    pub fn format(&self) -> String {
        self.text.to_string()
    }

    /// [`Signature::format`] without a copy.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// One metric's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// `BLEU`, `chrF2`, `chrF2++`, `TER`.
    pub name: String,
    /// The score.
    pub score: f64,
    /// sacrebleu's verbose details (BLEU only), or empty.
    pub verbose: String,
    /// The signature.
    pub signature: Signature,
}

/// Python's `repr(float)`: shortest round-trip digits, `.0` on integral
/// values, exponent form below 1e-4 and from 1e16.
pub fn py_float_repr(x: f64) -> String {
    if x == 0.0 || (1e-4..1e16).contains(&x.abs()) {
        let s = format!("{x}");
        if s.contains('.') || s.contains("inf") || s.contains("NaN") {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        let s = format!("{x:e}");
        let (mantissa, exponent) = s.split_once('e').expect("exponent form");
        let (sign, digits) = match exponent.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exponent),
        };
        format!("{mantissa}e{sign}{digits:0>2}")
    }
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

impl Score {
    /// The score rounded for display, as `f"{score:.{width}f}"`.
    pub fn rounded(&self, width: usize) -> String {
        crate::fixed::fixed(self.score, width)
    }

    /// sacrebleu's text form: `NAME|SIGNATURE = SCORE VERBOSE`, or just the
    /// score with `score_only`.
    pub fn format_text(&self, width: usize, score_only: bool) -> String {
        let mut out =
            String::with_capacity(self.signature.as_str().len() + self.verbose.len() + 32);
        self.write_text(width, score_only, &mut out);
        out
    }

    /// Appends [`Score::format_text`] to `out`.
    pub fn write_text(&self, width: usize, score_only: bool, out: &mut String) {
        if !score_only {
            out.push_str(&self.name);
            out.push('|');
            out.push_str(self.signature.as_str());
            out.push_str(" = ");
        }
        crate::fixed::push_fixed(out, self.score, width);
        if !score_only && !self.verbose.is_empty() {
            out.push(' ');
            out.push_str(&self.verbose);
        }
    }

    /// sacrebleu's `-f json` form (`json.dumps(indent=1, ensure_ascii=False)`).
    pub fn format_json(&self, width: usize) -> String {
        let score: f64 = self.rounded(width).parse().expect("formatted float parses");
        let mut entries = vec![
            ("name".to_string(), json_string(&self.name)),
            ("score".to_string(), py_float_repr(score)),
            (
                "signature".to_string(),
                json_string(&self.signature.format()),
            ),
        ];
        if !self.verbose.is_empty() {
            entries.push(("verbose_score".into(), json_string(&self.verbose)));
        }
        for (k, v) in self.signature.fields() {
            entries.push((k.to_string(), json_string(v)));
        }
        let body: Vec<String> = entries
            .iter()
            .map(|(k, v)| format!(" {}: {v}", json_string(k)))
            .collect();
        format!("{{\n{}\n}}", body.join(",\n"))
    }
}

/// sacrebleu's `print_single_results` for text output: lines aligned on the
/// `=` sign when several metrics are printed.
pub fn align_text(lines: &[String]) -> String {
    if lines.len() == 1 {
        return format!("{}\n", lines[0]);
    }
    let mut out = String::new();
    let mut lens = Vec::new();
    for line in lines {
        match line.chars().position(|c| c == '=') {
            Some(p) => lens.push(p - 1),
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    if let Some(&w) = lens.iter().max() {
        for (len, line) in lens.iter().zip(lines) {
            let left: String = line.chars().take(*len).collect();
            let right: String = line.chars().skip(*len).collect();
            out.push_str(&format!("{left:>w$}{right}\n"));
        }
    }
    out
}

/// sacrebleu's JSON output: one object, or a list of them.
pub fn join_json(objects: &[String]) -> String {
    if objects.len() == 1 {
        format!("{}\n", objects[0])
    } else {
        format!("[\n{}\n]\n", objects.join(",\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_repr_matches_python() {
        assert_eq!(py_float_repr(100.0), "100.0");
        assert_eq!(py_float_repr(0.0), "0.0");
        assert_eq!(py_float_repr(23.45), "23.45");
        assert_eq!(py_float_repr(1e-5), "1e-05");
        assert_eq!(py_float_repr(0.0001), "0.0001");
    }

    #[test]
    fn json_layout_matches_sacrebleu() {
        let s = Score {
            name: "chrF2".into(),
            score: 51.256,
            verbose: String::new(),
            signature: Signature::new(1, vec![("case", "mixed".into())]),
        };
        let expected = format!(
            "{{\n \"name\": \"chrF2\",\n \"score\": 51.3,\n \"signature\": \"nrefs:1|case:mixed|version:{VERSION}\",\n \"nrefs\": \"1\",\n \"case\": \"mixed\",\n \"version\": \"{VERSION}\"\n}}"
        );
        assert_eq!(s.format_json(1), expected);
    }
}
