//! Expected values ported from sacrebleu 2.6.0's own test suite
//! (test/test_bleu.py, test_sentence_bleu.py, test_chrf.py, test_ter.py),
//! computed through retarget's API.

use retarget_eval::bleu::{Bleu, BleuStats, Smoothing};
use retarget_eval::chrf::Chrf;
use retarget_eval::corpus::ParallelText;
use retarget_eval::sacre_tokenizers::{BleuTokenizer, TercomTokenizer};
use retarget_eval::ter::Ter;
use retarget_eval::{corpus_scores, Metrics};

/// `refs` are reference streams, as sacrebleu takes them.
fn text(hyps: &[&str], refs: &[&[&str]]) -> ParallelText {
    ParallelText {
        hypotheses: hyps.iter().map(|s| s.to_string()).collect(),
        references: refs
            .iter()
            .map(|r| r.iter().map(|s| s.to_string()).collect())
            .collect(),
    }
}

fn bleu(hyps: &[&str], refs: &[&[&str]], b: Bleu) -> f64 {
    corpus_scores(
        &text(hyps, refs),
        &Metrics {
            bleu: Some(b),
            ..Metrics::default()
        },
    )[0]
    .score
}

fn chrf(hyps: &[&str], refs: &[&[&str]], c: Chrf) -> f64 {
    corpus_scores(
        &text(hyps, refs),
        &Metrics {
            chrf: Some(c),
            ..Metrics::default()
        },
    )[0]
    .score
}

fn ter(hyps: &[&str], refs: &[&[&str]], t: Ter) -> f64 {
    corpus_scores(
        &text(hyps, refs),
        &Metrics {
            ter: Some(t),
            ..Metrics::default()
        },
    )[0]
    .score
}

/// sacrebleu's `raw_corpus_bleu`: floor smoothing, no tokenization,
/// effective order.
fn raw(floor: f64) -> Bleu {
    Bleu {
        tokenizer: BleuTokenizer::None,
        smoothing: Smoothing::Floor(floor),
        effective_order: true,
        lowercase: false,
    }
}

const REFS_A: &[&str] = &[
    "The dog bit the man.",
    "It was not unexpected.",
    "The man bit him first.",
];
const REFS_B: &[&str] = &[
    "The dog had bit the man.",
    "No one was surprised.",
    "The man had bitten the dog.",
];
const HYPS: &[&str] = &[
    "The dog bit the man.",
    "It wasn't surprising.",
    "The man had just bitten him.",
];

#[test]
fn corpus_bleu() {
    let with = |tokenizer, smoothing| Bleu {
        tokenizer,
        smoothing,
        ..Bleu::default()
    };
    let cases = [
        (HYPS, Bleu::default(), 48.530827),
        (&["", "", ""][..], Bleu::default(), 0.0),
        (HYPS, with(BleuTokenizer::None, Smoothing::Exp), 49.1919566),
        (HYPS, with(BleuTokenizer::V13a, Smoothing::Exp), 48.530827),
        (HYPS, with(BleuTokenizer::Intl, Smoothing::Exp), 43.91623493),
        (HYPS, with(BleuTokenizer::V13a, Smoothing::None), 48.530827),
    ];
    for (hyps, b, expected) in cases {
        let got = bleu(hyps, &[REFS_A, REFS_B], b.clone());
        assert!((got - expected).abs() < 1e-8, "{b:?}: {got} vs {expected}");
    }
}

#[test]
fn raw_bleu_and_effective_order() {
    let cases: [(&str, &str, f64); 6] = [
        ("this is a test", "this is a test", 1.0),
        ("this is a fest", "this is a test", 0.223606797749979),
        ("test", "a test", 0.3678794411714425),
        ("a test", "a test", 1.0),
        ("a little test", "a test", 0.03218297948685433),
        (
            "am I am a character sequence",
            "I am a symbol string sequence a a",
            0.0,
        ),
    ];
    for (h, r, expected) in cases {
        let got = bleu(&[h], &[&[r]], raw(0.01)) / 100.0;
        if expected == 0.0 {
            continue;
        }
        assert!((got - expected).abs() < 1e-8, "{h}: {got} vs {expected}");
    }
    let zero = bleu(
        &["this is a test", "another test"],
        &[&["ref1", "ref2"]],
        raw(0.01),
    );
    assert_eq!(zero, 0.0);
}

#[test]
fn statistics_and_offsets() {
    let b = raw(0.01);
    let s = b.segment_stats(
        "am I am a character sequence",
        &["I am a symbol string sequence a a"],
    );
    assert_eq!((s.correct, s.total), ([4, 2, 1, 0], [6, 5, 4, 3]));
    let without = bleu(
        &["am I am a character sequence"],
        &[&["I am a symbol string sequence a a"]],
        raw(0.0),
    );
    assert!(without.abs() < 1e-8);
    let with = bleu(
        &["am I am a character sequence"],
        &[&["I am a symbol string sequence a a"]],
        raw(0.1),
    );
    assert!((with / 100.0 - 0.1555722182).abs() < 1e-8);
}

#[test]
fn scoring_and_degenerate_statistics() {
    let stats = |c: [u64; 4], t: [u64; 4], h, r| BleuStats {
        hyp_len: h,
        ref_len: r,
        correct: c,
        total: t,
    };
    let b = Bleu {
        smoothing: Smoothing::None,
        ..Bleu::default()
    };
    let s = b.score(&stats([9, 7, 5, 3], [10, 8, 6, 4], 11, 11)).score / 100.0;
    assert!((s - 0.8375922397).abs() < 1e-8);
    for (st, floor) in [
        (stats([0; 4], [4, 4, 2, 1], 0, 1), 0.0),
        (stats([0; 4], [10, 11, 12, 0], 14, 10), 0.0),
        (stats([0; 4], [0; 4], 0, 0), 0.0),
        (stats([6, 5, 4, 0], [6, 5, 4, 3], 6, 6), 0.0),
        (stats([0; 4], [0; 4], 0, 0), 0.1),
        (stats([0; 4], [0; 4], 1, 5), 0.01),
    ] {
        let b = Bleu {
            smoothing: Smoothing::Floor(floor),
            ..Bleu::default()
        };
        assert_eq!(b.score(&st).score, 0.0);
    }
}

#[test]
fn sentence_bleu() {
    const REF: &str = "producţia de zahăr brut se exprimă în zahăr alb;";
    const SYS: &str = "Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;";
    let cases = [
        (Smoothing::Exp, false, BleuTokenizer::V13a, 8.493),
        (Smoothing::None, false, BleuTokenizer::V13a, 0.0),
        (Smoothing::Floor(0.1), false, BleuTokenizer::V13a, 4.51688),
        (Smoothing::Floor(0.5), false, BleuTokenizer::V13a, 10.10),
        (Smoothing::AddK(1.0), false, BleuTokenizer::V13a, 14.882),
        (Smoothing::AddK(2.0), false, BleuTokenizer::V13a, 21.389),
        (Smoothing::Exp, false, BleuTokenizer::None, 7.347),
        (Smoothing::Exp, false, BleuTokenizer::Intl, 8.493),
        (Smoothing::Exp, false, BleuTokenizer::Char, 40.8759),
        (Smoothing::Exp, true, BleuTokenizer::Char, 42.0267),
    ];
    for (smoothing, lowercase, tokenizer, expected) in cases {
        let b = Bleu {
            smoothing,
            lowercase,
            tokenizer: tokenizer.clone(),
            effective_order: true,
        };
        let got = b.score(&b.segment_stats(SYS, &[REF])).score;
        assert!(
            (got - expected).abs() < 1e-3,
            "{smoothing:?} {tokenizer:?}: {got} vs {expected}"
        );
        if matches!(tokenizer, BleuTokenizer::V13a) {
            let zero = b
                .score(&b.segment_stats("this is a cat", &["okay thanks"]))
                .score;
            assert_eq!(zero, 0.0, "{smoothing:?}");
        }
    }
}

#[test]
fn chrf_cases() {
    let eps = Chrf {
        beta: 3,
        eps_smoothing: true,
        ..Chrf::default()
    };
    let eff = Chrf {
        beta: 3,
        ..Chrf::default()
    };
    let keep = Chrf {
        beta: 3,
        whitespace: true,
        ..Chrf::default()
    };
    let cases: Vec<(&[&str], &[&str], Chrf, f64)> = vec![
        (&["abcdefg"], &["hijklmnop"], eps, 0.0),
        (&["a"], &["b"], eps, 0.0),
        (&[""], &["b"], eps, 0.0),
        (&[""], &["reference"], eps, 0.0),
        (&["aa"], &["ab"], eps, 8.3333),
        (&["a", "b"], &["a", "c"], eps, 8.3333),
        (&["a"], &["a"], eps, 16.6667),
        (&["a b c"], &["a b c"], eps, 50.0),
        (&["a b c"], &["abc"], eps, 50.0),
        (&[" risk assessment must be made of those who are qualified and expertise in the sector - these are the scientists ."],
         &["risk assessment has to be undertaken by those who are qualified and expert in that area - that is the scientists ."], eps, 63.361730),
        (&[" Die    Beziehung zwischen  Obama und Netanjahu ist nicht gerade  freundlich. "],
         &["Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich."], eps, 64.1302698),
        (&["Niemand hat die Absicht, eine Mauer zu errichten"], &["Niemand hat die Absicht, eine Mauer zu errichten"], eps, 100.0),
        (&["a"], &["a"], eff, 100.0),
        (&[""], &["reference"], eff, 0.0),
        (&["a b c"], &["a b c"], eff, 100.0),
        (&["a b c"], &["abc"], eff, 100.0),
        (&[""], &["c"], eff, 0.0),
        (&["a", "b"], &["a", "c"], eff, 50.0),
        (&["aa"], &["ab"], eff, 25.0),
        (&["Die Beziehung zwischen Obama und Netanjahu ist nicht gerade freundlich."],
         &["Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich."], keep, 67.3481606),
        (&["risk assessment must be made of those who are qualified and expertise in the sector - these are the scientists ."],
         &["risk assessment has to be undertaken by those who are qualified and expert in that area - that is the scientists ."], keep, 65.2414427),
    ];
    for (h, r, c, expected) in cases {
        let got = chrf(h, &[r], c);
        assert!((got - expected).abs() < 1e-4, "{h:?}: {got} vs {expected}");
    }
}

#[test]
fn chrf_sentence_level() {
    let c = Chrf {
        eps_smoothing: true,
        ..Chrf::default()
    };
    for (h, r, expected) in [
        ("Co nás nejvíc trápí, protože lékaři si vybírají, kdo bude žít a kdo zemře.",
         "Nejvíce smutní jsme z toho, že musíme rozhodovat o tom, kdo bude žít a kdo zemře.", 39.14078509),
        ("Nebo prostě nemají vybavení, které by jim pomohlo, uvedli lékaři.",
         "A někdy nemáme ani potřebný materiál, abychom jim pomohli, popsali lékaři.", 31.22557079),
        ("Lapali po dechu, jejich životy skončily dřív, než skutečně začaly.",
         "Lapali po dechu a pak jejich život skončil - dřív, než skutečně mohl začít, připomněli.", 57.15704367),
    ] {
        let got = c.f_score(&c.segment_stats(h, &[r]));
        assert!((got - expected).abs() < 1e-4, "{got} vs {expected}");
    }
}

#[test]
fn ter_cases() {
    let t = Ter {
        tokenizer: TercomTokenizer::default(),
    };
    let hyps = [
        "wählen Sie \" Bild neu berechnen , \" um beim Ändern der Bildgröße Pixel hinzuzufügen oder zu entfernen , damit das Bild ungefähr dieselbe Größe aufweist wie die andere Größe .",
        "wenn Sie alle Aufgaben im aktuellen Dokument aktualisieren möchten , wählen Sie im Menü des Aufgabenbedienfelds die Option \" Alle Aufgaben aktualisieren . \"",
        "klicken Sie auf der Registerkarte \" Optionen \" auf die Schaltfläche \" Benutzerdefiniert \" und geben Sie Werte für \" Fehlerkorrektur-Level \" und \" Y / X-Verhältnis \" ein .",
        "Sie können beispielsweise ein Dokument erstellen , das ein Auto über die Bühne enthält .",
        "wählen Sie im Dialogfeld \" Neu aus Vorlage \" eine Vorlage aus und klicken Sie auf \" Neu . \"",
    ];
    let refs = [
        "wählen Sie \" Bild neu berechnen , \" um beim Ändern der Bildgröße Pixel hinzuzufügen oder zu entfernen , damit die Darstellung des Bildes in einer anderen Größe beibehalten wird .",
        "wenn Sie alle Aufgaben im aktuellen Dokument aktualisieren möchten , wählen Sie im Menü des Aufgabenbedienfelds die Option \" Alle Aufgaben aktualisieren . \"",
        "klicken Sie auf der Registerkarte \" Optionen \" auf die Schaltfläche \" Benutzerdefiniert \" und geben Sie für \" Fehlerkorrektur-Level \" und \" Y / X-Verhältnis \" niedrigere Werte ein .",
        "Sie können beispielsweise ein Dokument erstellen , das ein Auto enthalt , das sich über die Bühne bewegt .",
        "wählen Sie im Dialogfeld \" Neu aus Vorlage \" eine Vorlage aus und klicken Sie auf \" Neu . \"",
    ];
    let cases: Vec<(&[&str], &[&str], f64)> = vec![
        (&["aaaa bbbb cccc dddd"], &["aaaa bbbb cccc dddd"], 0.0),
        (&["dddd eeee ffff"], &["aaaa bbbb cccc"], 1.0),
        (&[""], &["a"], 1.0),
        (&["a"], &[""], 1.0),
        (&[""], &[""], 0.0),
        (&["d e f g h a b c"], &["a b c d e f g h"], 1.0 / 8.0),
        (&hyps, &refs, 0.136),
    ];
    for (h, r, expected) in cases {
        let got = ter(h, &[r], t);
        assert!(
            (got - 100.0 * expected).abs() < 1e-3,
            "{h:?}: {got} vs {expected}"
        );
    }
}
