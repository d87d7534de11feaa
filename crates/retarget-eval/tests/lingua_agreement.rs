//! The `lingua` backend (lingua's decisions over a faster n-gram lookup)
//! gives lingua's own labels: on lingua's test sentences, word pairs and
//! single words of 16 languages in 11 scripts, with all 75 languages, a
//! subset and a single language, in both accuracy modes.
#![cfg(feature = "lingua")]

use lingua::LanguageDetectorBuilder;
use retarget_eval::langid::Backend;
use retarget_eval::language::Language;

/// Every 25th line of each of lingua's three test files for these languages.
fn test_lines() -> Vec<String> {
    let directories = [
        lingua_german_language_model::GERMAN_TESTDATA_DIRECTORY,
        lingua_english_language_model::ENGLISH_TESTDATA_DIRECTORY,
        lingua_portuguese_language_model::PORTUGUESE_TESTDATA_DIRECTORY,
        lingua_vietnamese_language_model::VIETNAMESE_TESTDATA_DIRECTORY,
        lingua_yoruba_language_model::YORUBA_TESTDATA_DIRECTORY,
        lingua_bokmal_language_model::BOKMAL_TESTDATA_DIRECTORY,
        lingua_russian_language_model::RUSSIAN_TESTDATA_DIRECTORY,
        lingua_serbian_language_model::SERBIAN_TESTDATA_DIRECTORY,
        lingua_kazakh_language_model::KAZAKH_TESTDATA_DIRECTORY,
        lingua_arabic_language_model::ARABIC_TESTDATA_DIRECTORY,
        lingua_marathi_language_model::MARATHI_TESTDATA_DIRECTORY,
        lingua_japanese_language_model::JAPANESE_TESTDATA_DIRECTORY,
        lingua_chinese_language_model::CHINESE_TESTDATA_DIRECTORY,
        lingua_korean_language_model::KOREAN_TESTDATA_DIRECTORY,
        lingua_greek_language_model::GREEK_TESTDATA_DIRECTORY,
        lingua_thai_language_model::THAI_TESTDATA_DIRECTORY,
    ];
    let mut lines = Vec::new();
    for directory in directories {
        for file in ["sentences.txt", "word-pairs.txt", "single-words.txt"] {
            let text = directory.get_file(file).unwrap().contents_utf8().unwrap();
            lines.extend(text.lines().step_by(25).map(str::to_string));
        }
    }
    lines
}

/// A line's label ("-" for none) and the confidence in it.
type Label = (String, f64);

/// lingua's label for each line, with the backend's rule for ties.
fn lingua_labels(lines: &[String], languages: &[lingua::Language], low: bool) -> Vec<Label> {
    let mut builder = if languages.is_empty() {
        LanguageDetectorBuilder::from_all_languages()
    } else {
        LanguageDetectorBuilder::from_languages(languages)
    };
    if low {
        builder.with_low_accuracy_mode();
    }
    let detector = builder.build();
    lines
        .iter()
        .map(|line| {
            let values = detector.compute_language_confidence_values(line.as_str());
            match values[..] {
                [(_, a), (_, b), ..] if a == b => ("-".to_string(), 0.0),
                [(best, c), ..] => (best.iso_code_639_3().to_string(), c),
                [] => ("-".to_string(), 0.0),
            }
        })
        .collect()
}

fn backend_labels(lines: &[String], languages: &[&str], low: bool) -> Vec<Label> {
    let languages: Vec<Language> = languages
        .iter()
        .map(|code| Language::lookup(code).unwrap())
        .collect();
    let spec = if low { "lingua:low" } else { "lingua" };
    let backend = Backend::from_spec(spec, &languages).unwrap();
    let batched = backend.identify_lines(lines);
    // One line at a time gives the same as in batches.
    for (line, id) in lines.iter().zip(&batched).step_by(7) {
        let single = backend.identify(line);
        assert_eq!(
            single.as_ref().map(|i| (&i.label, i.confidence)),
            id.as_ref().map(|i| (&i.label, i.confidence)),
            "{line}"
        );
    }
    batched
        .into_iter()
        .map(|id| id.map_or(("-".to_string(), 0.0), |id| (id.label, id.confidence)))
        .collect()
}

fn assert_agree(languages: &[&str], lingua_languages: &[lingua::Language], low: bool) {
    let lines = test_lines();
    let ours = backend_labels(&lines, languages, low);
    let theirs = lingua_labels(&lines, lingua_languages, low);
    let differing: Vec<String> = lines
        .iter()
        .zip(ours.iter().zip(&theirs))
        // lingua adds a text's log-probabilities in hash-set order, so its
        // confidences vary in the last bits from run to run.
        .filter(|(_, (a, b))| a.0 != b.0 || (a.1 - b.1).abs() > 1e-9)
        .map(|(line, (a, b))| format!("{line:?}: retarget {a:?}, lingua {b:?}"))
        .collect();
    assert!(
        differing.is_empty(),
        "{} of {} labels differ:\n{}",
        differing.len(),
        lines.len(),
        differing.join("\n")
    );
    // The lines are not all one answer.
    let mut distinct: Vec<String> = ours
        .iter()
        .map(|(l, c)| format!("{l} {}", c == &1.0))
        .collect();
    distinct.sort();
    distinct.dedup();
    assert!(distinct.len() > 1, "{distinct:?}");
}

#[test]
fn all_languages_agree_with_lingua() {
    assert_agree(&[], &[], false);
}

#[test]
fn all_languages_agree_with_lingua_in_low_accuracy_mode() {
    assert_agree(&[], &[], true);
}

#[test]
fn a_subset_agrees_with_lingua() {
    use lingua::Language::*;
    assert_agree(
        &["deu", "eng", "por", "rus", "srp", "jpn", "zho"],
        &[
            German, English, Portuguese, Russian, Serbian, Japanese, Chinese,
        ],
        false,
    );
}

#[test]
fn one_language_agrees_with_lingua() {
    assert_agree(&["deu"], &[lingua::Language::German], false);
    assert_agree(&["jpn"], &[lingua::Language::Japanese], true);
}
