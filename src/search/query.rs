//! What people type, understood: the words of a query folded as the name index folds them (lower
//! case, no accents), and the dates in it ("2023", "july 2023", "juillet 2023", "summer 2023",
//! "2023-07") taken out as a time range. What remains is matched against names, folders, places
//! and tags, and given to CLIP.

use crate::media::places::fold_words;
use crate::photos::local_midnight_ms;

/// A time range `[from, to)` in ms, and how the query said it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateRange {
    pub from: i64,
    pub to: i64,
    /// The words that said it, as typed (folded): "july 2023".
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The words left once the dates are out (folded).
    pub words: Vec<String>,
    pub date: Option<DateRange>,
}

impl Parsed {
    /// The words as one phrase (what CLIP and the whole-query tag match get).
    pub fn phrase(&self) -> String {
        self.words.join(" ")
    }
}

const MONTHS: &[(&str, i64)] = &[
    ("january", 1),
    ("jan", 1),
    ("janvier", 1),
    ("januar", 1),
    ("february", 2),
    ("feb", 2),
    ("fevrier", 2),
    ("februar", 2),
    ("march", 3),
    ("mar", 3),
    ("mars", 3),
    ("marz", 3),
    ("april", 4),
    ("apr", 4),
    ("avril", 4),
    ("may", 5),
    ("mai", 5),
    ("june", 6),
    ("jun", 6),
    ("juin", 6),
    ("juni", 6),
    ("july", 7),
    ("jul", 7),
    ("juillet", 7),
    ("juli", 7),
    ("august", 8),
    ("aug", 8),
    ("aout", 8),
    ("september", 9),
    ("sep", 9),
    ("sept", 9),
    ("septembre", 9),
    ("october", 10),
    ("oct", 10),
    ("octobre", 10),
    ("oktober", 10),
    ("november", 11),
    ("nov", 11),
    ("novembre", 11),
    ("december", 12),
    ("dec", 12),
    ("decembre", 12),
    ("dezember", 12),
];

/// Seasons of the northern hemisphere: first month and length. Winter is the one that starts in
/// December of the year named.
const SEASONS: &[(&str, i64, i64)] = &[
    ("spring", 3, 3),
    ("printemps", 3, 3),
    ("fruhling", 3, 3),
    ("summer", 6, 3),
    ("ete", 6, 3),
    ("sommer", 6, 3),
    ("autumn", 9, 3),
    ("fall", 9, 3),
    ("automne", 9, 3),
    ("herbst", 9, 3),
    ("winter", 12, 3),
    ("hiver", 12, 3),
];

fn year_of(w: &str) -> Option<i64> {
    (w.len() == 4)
        .then(|| w.parse::<i64>().ok())
        .flatten()
        .filter(|y| (1900..=2100).contains(y))
}

/// `[first day of month m of y, first day of the month `len` months later)` in time zone `tz`.
fn months(y: i64, m: i64, len: i64, tz: i64) -> (i64, i64) {
    let end = (m - 1) + len;
    let (ey, em) = (y + end.div_euclid(12), end.rem_euclid(12) + 1);
    (
        local_midnight_ms(y, m, 1, tz),
        local_midnight_ms(ey, em, 1, tz),
    )
}

/// Folds `q` into words and takes one date out of it (the first found), in time zone `tz`
/// (minutes east of UTC).
pub fn parse(q: &str, tz: i64) -> Parsed {
    // "2023-07" is a month: read it before folding splits it.
    let mut words: Vec<String> = Vec::new();
    let mut date = None;
    for raw in q.split_whitespace() {
        if date.is_none()
            && let Some((y, m)) = raw.split_once('-')
            && let (Some(y), Ok(m)) = (year_of(y), m.parse::<i64>())
            && m.to_string().len() <= 2
            && (1..=12).contains(&m)
            && raw.len() == 7
        {
            let (from, to) = months(y, m, 1, tz);
            date = Some(DateRange {
                from,
                to,
                label: raw.to_string(),
            });
            continue;
        }
        words.extend(
            fold_words(raw)
                .split(' ')
                .filter(|w| !w.is_empty())
                .map(str::to_string),
        );
    }
    if date.is_none() {
        for i in 0..words.len() {
            let Some(y) = year_of(&words[i]) else {
                continue;
            };
            let before = i.checked_sub(1).map(|j| words[j].as_str());
            let month = before.and_then(|b| MONTHS.iter().find(|(n, _)| *n == b));
            let season = before.and_then(|b| SEASONS.iter().find(|(n, _, _)| *n == b));
            let (range, start) = match (month, season) {
                (Some((_, m)), _) => (months(y, *m, 1, tz), i - 1),
                (None, Some((_, m, len))) => (months(y, *m, *len, tz), i - 1),
                (None, None) => (months(y, 1, 12, tz), i),
            };
            let label = words[start..=i].join(" ");
            date = Some(DateRange {
                from: range.0,
                to: range.1,
                label,
            });
            words.drain(start..=i);
            break;
        }
    }
    Parsed { words, date }
}

/// Short words that never name a place or a file on their own ("photos in nice" is about Nice).
pub const STOP_WORDS: &[&str] = &[
    "a", "an", "the", "in", "at", "on", "of", "to", "and", "or", "with", "from", "my", "our",
    "photo", "photos", "picture", "pictures", "de", "du", "des", "la", "le", "les", "et", "en",
    "au", "aux", "der", "die", "das", "und", "im",
];

#[cfg(test)]
mod tests {
    use super::*;

    const JULY_2023_UTC: i64 = 1_688_169_600_000;

    #[test]
    fn dates_come_out_of_the_words() {
        let p = parse("July 2023", 0);
        assert_eq!(p.words, Vec::<String>::new());
        let d = p.date.unwrap();
        assert_eq!(
            (d.from, d.to - d.from, d.label.as_str()),
            (JULY_2023_UTC, 31 * 86_400_000, "july 2023")
        );
        assert_eq!(parse("juillet 2023", 0).date.unwrap().from, JULY_2023_UTC);
        assert_eq!(parse("2023-07", 0).date.unwrap().from, JULY_2023_UTC);
        let p = parse("beach 2022", 0);
        assert_eq!(p.words, ["beach"]);
        let d = p.date.unwrap();
        assert_eq!(d.to - d.from, 365 * 86_400_000);
        let p = parse("dog summer 2023", 0);
        assert_eq!(p.words, ["dog"]);
        let d = p.date.unwrap();
        assert_eq!(
            (d.from, d.label.as_str()),
            (1_685_577_600_000, "summer 2023")
        ); // June 1
        assert_eq!(d.to, 1_693_526_400_000); // September 1
        // Winter 2023: December 2023 to March 2024.
        let w = parse("winter 2023", 0).date.unwrap();
        assert_eq!(w.from, 1_701_388_800_000);
        assert_eq!(w.to, 1_709_251_200_000);
        // In Paris in summer, July starts two hours earlier in UTC.
        assert_eq!(
            parse("july 2023", 120).date.unwrap().from,
            JULY_2023_UTC - 7_200_000
        );
    }

    #[test]
    fn what_is_not_a_date_stays_words() {
        assert_eq!(
            parse("IMG_1001", 0),
            Parsed {
                words: vec!["img".into(), "1001".into()],
                date: None
            }
        );
        assert_eq!(parse("100%", 0).words, ["100"]);
        assert_eq!(parse("Café", 0).words, ["cafe"]);
        assert_eq!(parse("Vacances à Nice", 0).words, ["vacances", "a", "nice"]);
        assert!(
            parse("may", 0).date.is_none(),
            "a month without a year is a word"
        );
        assert!(parse("12345", 0).date.is_none());
        // Not a month: a year and a word.
        let p = parse("2023-13", 0);
        assert_eq!(
            (p.words, p.date.unwrap().label),
            (vec!["13".to_string()], "2023".to_string())
        );
        assert_eq!(parse("march 1850", 0).words, ["march", "1850"]);
    }
}
