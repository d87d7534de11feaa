//! Human-readable rendering of library results.

use std::fmt::Write;

use retarget_model::inspect::InspectReport;

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "-".to_string(), T::to_string)
}

/// The `retarget inspect` table.
pub fn inspect_table(r: &InspectReport) -> String {
    let mut s = String::new();
    let mut row = |k: &str, v: String| {
        let _ = writeln!(s, "{k:<18} {v}");
    };
    row("path", r.path.display().to_string());
    row(
        "format",
        match r.gguf_version {
            Some(v) => format!("{} v{v}", r.format),
            None => r.format.clone(),
        },
    );
    row("model_type", opt(&r.model_type));
    if !r.architectures.is_empty() {
        row("architectures", r.architectures.join(", "));
    }
    row("family", opt(&r.family));
    row(
        "parameters",
        format!("{} ({:.1}M)", r.parameters, r.parameters as f64 / 1e6),
    );
    row("tensors", r.tensors.to_string());
    row("hidden size", opt(&r.hidden_size));
    row("layers", opt(&r.layers));
    row(
        "vocabulary",
        format!(
            "config {} | tokenizer {} | embedding rows {} | head rows {}",
            opt(&r.vocab.config),
            opt(&r.vocab.tokenizer),
            opt(&r.vocab.embedding_rows),
            opt(&r.vocab.head_rows)
        ),
    );
    row("tied embeddings", opt(&r.tied_embeddings));
    row(
        "bytes",
        format!("{} ({:.1} MiB)", r.bytes, r.bytes as f64 / (1 << 20) as f64),
    );
    let _ = writeln!(s, "dtypes:");
    for (dtype, st) in &r.dtypes {
        let _ = writeln!(
            s,
            "  {dtype:<8} {:>6} tensors {:>14} elements {:>14} bytes",
            st.tensors, st.elements, st.bytes
        );
    }
    let _ = writeln!(s, "files:");
    for f in &r.files {
        let _ = writeln!(s, "  {} ({} tensors, {} bytes)", f.file, f.tensors, f.bytes);
    }
    if r.warnings.is_empty() {
        let _ = writeln!(s, "checks: ok");
    } else {
        let _ = writeln!(s, "warnings:");
        for w in &r.warnings {
            let _ = writeln!(s, "  ! {w}");
        }
    }
    s
}

/// What `convert --to gguf` wrote: types, fallbacks, size.
pub fn export_summary(summary: &retarget_model::gguf_export::ExportSummary) -> String {
    let types: Vec<String> = summary
        .per_type
        .iter()
        .map(|(t, n)| format!("{} {n}", t.name()))
        .collect();
    let tensors: usize = summary.per_type.iter().map(|(_, n)| n).sum();
    let mut out = format!(
        "wrote {} (GGUF, architecture {}, {tensors} tensors: {}; {} bytes)\n",
        summary.output.display(),
        summary.arch,
        types.join(", "),
        summary.bytes
    );
    // One line per (row length, written type): many tensors share them.
    let mut groups: Vec<(usize, &str, &str, Vec<&str>)> = Vec::new();
    for f in &summary.fallbacks {
        let (wanted, written) = (f.wanted.name(), f.written.name());
        match groups
            .iter_mut()
            .find(|(row, _, w, _)| *row == f.row && *w == written)
        {
            Some((_, _, _, names)) => names.push(&f.tensor),
            None => groups.push((f.row, wanted, written, vec![&f.tensor])),
        }
    }
    for (row, wanted, written, names) in groups {
        let shown: Vec<&str> = names.iter().take(3).copied().collect();
        let more = names.len().saturating_sub(3);
        out += &format!(
            "  {} tensor(s) with rows of {row} values (not whole {wanted} blocks) written as {written}, as llama.cpp falls back: {}{}\n",
            names.len(),
            shown.join(", "),
            if more > 0 { format!(" and {more} more") } else { String::new() }
        );
    }
    out
}
