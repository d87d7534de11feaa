//! lingua's rules before any n-gram is scored: the script of each
//! character, the characters only some languages use, the rule that decides
//! a text outright, and the rule that narrows the candidate languages.
//! Everything here follows lingua 1.8.0's `detector.rs`, `alphabet.rs`,
//! `language.rs` and `constant.rs`, decision for decision; the tables are
//! lingua's data, restated because lingua keeps them private.

use std::collections::HashMap;
use std::sync::LazyLock;

use lingua::Language;
use regex_syntax::hir::{Class, HirKind};

/// lingua's alphabets, in lingua's order (ties between alphabets go to the
/// first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Alphabet {
    Arabic,
    Armenian,
    Bengali,
    Cyrillic,
    Devanagari,
    Georgian,
    Greek,
    Gujarati,
    Gurmukhi,
    Han,
    Hangul,
    Hebrew,
    Hiragana,
    Katakana,
    Latin,
    Tamil,
    Telugu,
    Thai,
}

/// Every alphabet with its Unicode script's name.
const ALPHABETS: [(Alphabet, &str); 18] = [
    (Alphabet::Arabic, "Arabic"),
    (Alphabet::Armenian, "Armenian"),
    (Alphabet::Bengali, "Bengali"),
    (Alphabet::Cyrillic, "Cyrillic"),
    (Alphabet::Devanagari, "Devanagari"),
    (Alphabet::Georgian, "Georgian"),
    (Alphabet::Greek, "Greek"),
    (Alphabet::Gujarati, "Gujarati"),
    (Alphabet::Gurmukhi, "Gurmukhi"),
    (Alphabet::Han, "Han"),
    (Alphabet::Hangul, "Hangul"),
    (Alphabet::Hebrew, "Hebrew"),
    (Alphabet::Hiragana, "Hiragana"),
    (Alphabet::Katakana, "Katakana"),
    (Alphabet::Latin, "Latin"),
    (Alphabet::Tamil, "Tamil"),
    (Alphabet::Telugu, "Telugu"),
    (Alphabet::Thai, "Thai"),
];

/// The code point ranges of every alphabet, sorted (scripts are disjoint),
/// with the ASCII ones in a table of their own.
struct Scripts {
    ranges: Vec<(u32, u32, Alphabet)>,
    ascii: [Option<Alphabet>; 128],
}

/// lingua's character sets are Unicode 15.0's scripts; regex-syntax has
/// Unicode 16.0's, so code points assigned after 15.0 are left out (for
/// these 18 scripts that gives exactly lingua's tables, compared range by
/// range when this was written).
static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| {
    let mut ranges = Vec::new();
    for (alphabet, script) in ALPHABETS {
        let pattern = format!(r"[\p{{Script={script}}}&&\p{{Age=15.0}}]");
        let hir = regex_syntax::parse(&pattern).expect("a valid Unicode class");
        let HirKind::Class(Class::Unicode(class)) = hir.kind() else {
            unreachable!("a Unicode class parses to one")
        };
        for range in class.iter() {
            ranges.push((range.start() as u32, range.end() as u32, alphabet));
        }
    }
    ranges.sort_unstable();
    let mut ascii = [None; 128];
    for (c, slot) in ascii.iter_mut().enumerate() {
        *slot = lookup(&ranges, c as u32);
    }
    Scripts { ranges, ascii }
});

fn lookup(ranges: &[(u32, u32, Alphabet)], c: u32) -> Option<Alphabet> {
    let at = ranges.partition_point(|&(_, end, _)| end < c);
    ranges
        .get(at)
        .filter(|&&(start, _, _)| start <= c)
        .map(|&(_, _, alphabet)| alphabet)
}

/// The alphabet `c` belongs to, if any of lingua's.
fn alphabet_of(c: char) -> Option<Alphabet> {
    let scripts = &*SCRIPTS;
    match scripts.ascii.get(c as usize) {
        Some(&alphabet) => alphabet,
        None => lookup(&scripts.ranges, c as u32),
    }
}

/// The alphabet every character of `word` belongs to (lingua's
/// `Alphabet::matches`), if one.
fn alphabet_of_word(word: &str) -> Option<Alphabet> {
    let mut chars = word.chars();
    let first = alphabet_of(chars.next()?)?;
    chars
        .all(|c| alphabet_of(c) == Some(first))
        .then_some(first)
}

/// The alphabets `language` is written in (lingua's `Language::alphabets`).
fn alphabets(language: Language) -> &'static [Alphabet] {
    use Alphabet as A;
    use Language as L;
    match language {
        L::Belarusian
        | L::Bulgarian
        | L::Kazakh
        | L::Macedonian
        | L::Mongolian
        | L::Russian
        | L::Serbian
        | L::Ukrainian => &[A::Cyrillic],
        L::Arabic | L::Persian | L::Urdu => &[A::Arabic],
        L::Hindi | L::Marathi => &[A::Devanagari],
        L::Armenian => &[A::Armenian],
        L::Bengali => &[A::Bengali],
        L::Chinese => &[A::Han],
        L::Georgian => &[A::Georgian],
        L::Greek => &[A::Greek],
        L::Gujarati => &[A::Gujarati],
        L::Hebrew => &[A::Hebrew],
        L::Japanese => &[A::Hiragana, A::Katakana, A::Han],
        L::Korean => &[A::Hangul],
        L::Punjabi => &[A::Gurmukhi],
        L::Tamil => &[A::Tamil],
        L::Telugu => &[A::Telugu],
        L::Thai => &[A::Thai],
        _ => &[A::Latin],
    }
}

/// The characters only `language` uses among lingua's languages (lingua's
/// `Language::unique_characters`).
fn unique_characters(language: Language) -> Option<&'static str> {
    use Language as L;
    Some(match language {
        L::Azerbaijani => "Əə",
        L::Catalan => "Ïï",
        L::Czech => "ĚěŘřŮů",
        L::Esperanto => "ĈĉĜĝĤĥĴĵŜŝŬŭ",
        L::German => "ß",
        L::Hungarian => "ŐőŰű",
        L::Kazakh => "ӘәҒғҚқҢңҰұ",
        L::Latvian => "ĢģĶķĻļŅņ",
        L::Lithuanian => "ĖėĮįŲų",
        L::Macedonian => "ЃѓЅѕЌќЏџ",
        L::Marathi => "ळ",
        L::Polish => "ŁłŃńŚśŹź",
        L::Romanian => "Țţ",
        L::Serbian => "ЂђЋћ",
        L::Slovak => "ĹĺĽľŔŕ",
        L::Spanish => "¿¡",
        L::Ukrainian => "ҐґЄєЇї",
        L::Vietnamese => {
            "ẰằẦầẲẳẨẩẴẵẪẫẮắẤấẠạẶặẬậỀềẺẻỂểẼẽỄễẾếỆệỈỉĨĩỊịƠơỒồỜờỎỏỔổỞởỖỗỠỡỐốỚớỘộỢợƯưỪừỦủỬửŨũỮữỨứỤụỰựỲỳỶỷỸỹỴỵ"
        }
        L::Yoruba => "Ṣṣ",
        _ => return None,
    })
}

/// Characters shared by a few languages only (lingua's
/// `CHARS_TO_LANGUAGES_MAPPING`).
const SHARED_CHARACTERS: [(&str, &[Language]); 44] = {
    use Language::*;
    [
        ("Ãã", &[Portuguese, Vietnamese]),
        ("ĄąĘę", &[Lithuanian, Polish]),
        ("Żż", &[Polish, Romanian]),
        ("Îî", &[French, Romanian]),
        ("Ññ", &[Basque, Spanish]),
        ("ŇňŤť", &[Czech, Slovak]),
        ("Ăă", &[Romanian, Vietnamese]),
        ("İıĞğ", &[Azerbaijani, Turkish]),
        ("ЈјЉљЊњ", &[Macedonian, Serbian]),
        ("ẸẹỌọ", &[Vietnamese, Yoruba]),
        ("ÐðÞþ", &[Icelandic, Turkish]),
        ("Ûû", &[French, Hungarian]),
        ("Ōō", &[Maori, Yoruba]),
        ("ӨөҮү", &[Kazakh, Mongolian]),
        ("ĀāĒēĪī", &[Latvian, Maori, Yoruba]),
        ("Şş", &[Azerbaijani, Romanian, Turkish]),
        ("Ďď", &[Czech, Romanian, Slovak]),
        ("Ćć", &[Bosnian, Croatian, Polish]),
        ("Đđ", &[Bosnian, Croatian, Vietnamese]),
        ("Іі", &[Belarusian, Kazakh, Ukrainian]),
        ("Ìì", &[Italian, Vietnamese, Yoruba]),
        ("Øø", &[Bokmal, Danish, Nynorsk]),
        ("Ūū", &[Latvian, Lithuanian, Maori, Yoruba]),
        ("Ëë", &[Afrikaans, Albanian, Dutch, French]),
        ("ÈèÙù", &[French, Italian, Vietnamese, Yoruba]),
        ("Êê", &[Afrikaans, French, Portuguese, Vietnamese]),
        ("Õõ", &[Estonian, Hungarian, Portuguese, Vietnamese]),
        ("Ôô", &[French, Portuguese, Slovak, Vietnamese]),
        ("ЁёЫыЭэ", &[Belarusian, Kazakh, Mongolian, Russian]),
        ("ЩщЪъ", &[Bulgarian, Kazakh, Mongolian, Russian]),
        ("Òò", &[Catalan, Italian, Vietnamese, Yoruba]),
        ("Ââ", &[French, Portuguese, Romanian, Turkish, Vietnamese]),
        ("Ææ", &[Bokmal, Danish, Icelandic, Nynorsk]),
        ("Åå", &[Bokmal, Danish, Nynorsk, Swedish]),
        ("Ýý", &[Czech, Icelandic, Slovak, Turkish, Vietnamese]),
        ("Ää", &[Estonian, Finnish, German, Slovak, Swedish]),
        ("Àà", &[Catalan, French, Italian, Portuguese, Vietnamese]),
        (
            "Üü",
            &[
                Azerbaijani,
                Catalan,
                Estonian,
                German,
                Hungarian,
                Spanish,
                Turkish,
            ],
        ),
        (
            "ČčŠšŽž",
            &[
                Bosnian, Czech, Croatian, Latvian, Lithuanian, Slovak, Slovene,
            ],
        ),
        (
            "Çç",
            &[
                Albanian,
                Azerbaijani,
                Basque,
                Catalan,
                French,
                Portuguese,
                Turkish,
            ],
        ),
        (
            "Öö",
            &[
                Azerbaijani,
                Estonian,
                Finnish,
                German,
                Hungarian,
                Icelandic,
                Swedish,
                Turkish,
            ],
        ),
        (
            "Óó",
            &[
                Catalan, Hungarian, Icelandic, Irish, Polish, Portuguese, Slovak, Spanish,
                Vietnamese, Yoruba,
            ],
        ),
        (
            "ÁáÍíÚú",
            &[
                Catalan, Czech, Icelandic, Irish, Hungarian, Portuguese, Slovak, Spanish,
                Vietnamese, Yoruba,
            ],
        ),
        (
            "Éé",
            &[
                Catalan, Czech, French, Hungarian, Icelandic, Irish, Italian, Portuguese, Slovak,
                Spanish, Vietnamese, Yoruba,
            ],
        ),
    ]
};

/// Each shared character → its entry in `SHARED_CHARACTERS`.
static SHARED_INDEX: LazyLock<HashMap<char, usize>> = LazyLock::new(|| {
    SHARED_CHARACTERS
        .iter()
        .enumerate()
        .flat_map(|(entry, (chars, _))| chars.chars().map(move |c| (c, entry)))
        .collect()
});

/// The rule tables a detector needs for its set of languages.
pub(super) struct Rules {
    /// The detector's languages, sorted.
    languages: Vec<Language>,
    /// Alphabets used by one language of all lingua's, when the detector has
    /// that language (lingua's `single_language_alphabets`).
    single_language: HashMap<Alphabet, Language>,
    /// The detector's languages with characters of their own.
    with_unique_characters: Vec<(Language, &'static str)>,
}

/// A small counter keyed by language, in first-counted order.
struct Counts<K> {
    entries: Vec<(K, usize)>,
}

impl<K> Default for Counts<K> {
    fn default() -> Self {
        Counts {
            entries: Vec::new(),
        }
    }
}

impl<K: PartialEq + Copy> Counts<K> {
    fn add(&mut self, key: K) {
        self.add_n(key, 1);
    }

    fn add_n(&mut self, key: K, n: usize) {
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some((_, count)) => *count += n,
            None => self.entries.push((key, n)),
        }
    }

    fn get(&self, key: K) -> usize {
        self.entries
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(0, |&(_, count)| count)
    }

    /// The two largest counts, largest first (lingua only compares counts,
    /// so which of two equal keys comes first does not matter to it).
    fn top_two(&self) -> (usize, usize) {
        let mut counts: Vec<usize> = self.entries.iter().map(|&(_, c)| c).collect();
        counts.sort_unstable_by(|a, b| b.cmp(a));
        (counts[0], counts.get(1).copied().unwrap_or(0))
    }

    /// The key of the largest count, when no other key has it.
    fn sole_maximum(&self) -> Option<K> {
        let (first, second) = self.top_two();
        if self.entries.len() > 1 && first == second {
            return None;
        }
        self.entries
            .iter()
            .find(|&&(_, c)| c == first)
            .map(|&(k, _)| k)
    }
}

impl Rules {
    pub(super) fn new(languages: &[Language]) -> Rules {
        let mut by_alphabet: HashMap<Alphabet, Vec<Language>> = HashMap::new();
        let mut all: Vec<Language> = Language::all().into_iter().collect();
        all.sort();
        for language in all {
            for &alphabet in alphabets(language) {
                by_alphabet.entry(alphabet).or_default().push(language);
            }
        }
        let single_language = by_alphabet
            .into_iter()
            .filter(|(_, users)| users.len() == 1 && languages.contains(&users[0]))
            .map(|(alphabet, users)| (alphabet, users[0]))
            .collect();
        let with_unique_characters = languages
            .iter()
            .filter_map(|&l| unique_characters(l).map(|chars| (l, chars)))
            .collect();
        Rules {
            languages: languages.to_vec(),
            single_language,
            with_unique_characters,
        }
    }

    /// The language the characters alone decide, if they do (lingua's
    /// `detect_language_with_rules`). It may be a language outside the
    /// detector's (Japanese, for a mix of Han and kana).
    pub(super) fn decide(&self, words: &[&str]) -> Option<Language> {
        let mut total: Counts<Option<Language>> = Counts::default();
        let half_word_count = words.len() as f64 * 0.5;
        for word in words {
            let mut counts: Counts<Language> = Counts::default();
            for c in word.chars() {
                let alphabet = alphabet_of(c);
                if let Some(&language) = alphabet.and_then(|a| self.single_language.get(&a)) {
                    counts.add(language);
                } else if alphabet == Some(Alphabet::Han) {
                    counts.add(Language::Chinese);
                } else if matches!(alphabet, Some(Alphabet::Hiragana | Alphabet::Katakana)) {
                    counts.add(Language::Japanese);
                } else if matches!(
                    alphabet,
                    Some(Alphabet::Latin | Alphabet::Cyrillic | Alphabet::Devanagari)
                ) {
                    for &(language, chars) in &self.with_unique_characters {
                        if chars.contains(c) {
                            counts.add(language);
                        }
                    }
                }
            }
            let vote = match counts.entries.len() {
                0 => None,
                1 => Some(counts.entries[0].0).filter(|l| self.languages.contains(l)),
                _ if counts.get(Language::Chinese) > 0 && counts.get(Language::Japanese) > 0 => {
                    Some(Language::Japanese)
                }
                _ => counts.sole_maximum().filter(|l| self.languages.contains(l)),
            };
            total.add(vote);
        }
        if (total.get(None) as f64) < half_word_count {
            total.entries.retain(|(k, _)| k.is_some());
        }
        match total.entries.len() {
            0 => None,
            1 => total.entries[0].0,
            _ => {
                let mut top: Vec<(Option<Language>, usize)> = total.entries.clone();
                top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                let pair = [top[0].0, top[1].0];
                if pair.contains(&Some(Language::Japanese))
                    && pair.contains(&Some(Language::Chinese))
                {
                    return Some(Language::Japanese);
                }
                if top[0].1 == top[1].1 {
                    return None;
                }
                top[0].0
            }
        }
    }

    /// The languages the text's alphabet and shared characters leave
    /// (lingua's `filter_languages_by_rules`), sorted.
    pub(super) fn narrow(&self, words: &[&str]) -> Vec<Language> {
        let mut alphabet_chars: Counts<Alphabet> = Counts::default();
        for word in words {
            if let Some(alphabet) = alphabet_of_word(word) {
                alphabet_chars.add_n(alphabet, word.chars().count());
            }
        }
        if alphabet_chars.entries.is_empty() {
            return self.languages.clone();
        }
        let first_count = alphabet_chars.entries[0].1;
        if alphabet_chars.entries.len() > 1
            && alphabet_chars
                .entries
                .iter()
                .all(|&(_, c)| c == first_count)
        {
            return self.languages.clone();
        }
        let (most, _) = alphabet_chars.top_two();
        let alphabet = alphabet_chars
            .entries
            .iter()
            .filter(|&&(_, c)| c == most)
            .map(|&(a, _)| a)
            .min()
            .expect("a largest count has a key");
        let filtered: Vec<Language> = self
            .languages
            .iter()
            .copied()
            .filter(|&l| alphabets(l).contains(&alphabet))
            .collect();

        let half_word_count = words.len() as f64 * 0.5;
        let mut counts: Counts<Language> = Counts::default();
        let mut seen: Vec<char> = Vec::new();
        for word in words {
            seen.clear();
            for c in word.chars() {
                if SHARED_INDEX.contains_key(&c) && !seen.contains(&c) {
                    seen.push(c);
                }
            }
            for c in &seen {
                let (_, users) = SHARED_CHARACTERS[SHARED_INDEX[c]];
                for &language in users {
                    if filtered.contains(&language) {
                        counts.add(language);
                    }
                }
            }
        }
        let mut subset: Vec<Language> = counts
            .entries
            .iter()
            .filter(|&&(_, c)| c as f64 >= half_word_count)
            .map(|&(l, _)| l)
            .collect();
        if subset.is_empty() {
            filtered
        } else {
            subset.sort();
            subset
        }
    }
}
