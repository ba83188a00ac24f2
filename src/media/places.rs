//! Where a photo was taken, in words: GPS reverse-geocoded offline to the nearest of GeoNames'
//! ~145,000 places of 1,000 people or more (the `reverse_geocoder` crate embeds them; no network
//! call, ever), with its region and country. Country names are ISO 3166's (`isocountry`), in the
//! short form people use where ISO's is formal ("United Kingdom", not "... of Great Britain and
//! Northern Ireland").

use std::sync::OnceLock;

use reverse_geocoder::ReverseGeocoder;
use unicode_normalization::UnicodeNormalization;

/// Farther than this from any town (open sea, the poles, the desert), no place is named.
pub const MAX_KM: f64 = 100.0;
const EARTH_KM: f64 = 6371.0;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Place {
    pub city: String,
    /// State, region or province (GeoNames' admin1); may be empty.
    pub region: String,
    pub country: String,
    /// ISO 3166-1 alpha-2.
    pub cc: String,
}

impl Place {
    /// City, region, country and the usual short forms of the country, folded (lower case, no
    /// accents, words separated by one space) between spaces: `" nice provence alpes cote d azur
    /// france "`. Search matches a folded word sequence inside it.
    pub fn search_key(&self) -> String {
        let mut parts = vec![
            self.city.as_str(),
            self.region.as_str(),
            self.country.as_str(),
        ];
        parts.extend(country_aliases(&self.cc));
        let folded = fold_words(&parts.join(" "));
        format!(" {folded} ")
    }
}

fn geocoder() -> &'static ReverseGeocoder {
    static G: OnceLock<ReverseGeocoder> = OnceLock::new();
    // Parsing the embedded table and building the k-d tree takes ~0.3 s, once per process.
    G.get_or_init(ReverseGeocoder::new)
}

/// The place at (lat, lon), or None when nothing is within [`MAX_KM`] or the coordinates are not
/// a place on Earth. Blocking (the first call builds the index): call it from a worker.
pub fn place_of(lat: f64, lon: f64) -> Option<Place> {
    if !lat.is_finite() || !lon.is_finite() || lat.abs() > 90.0 || lon.abs() > 180.0 {
        return None;
    }
    // (0, 0) is what a broken GPS writes; it is also open sea.
    let found = geocoder().search((lat, lon));
    // The crate measures the squared chord between unit vectors.
    let chord = found.distance.max(0.0).sqrt();
    let km = 2.0 * EARTH_KM * (chord / 2.0).min(1.0).asin();
    if km > MAX_KM {
        return None;
    }
    let r = found.record;
    Some(Place {
        city: r.name.clone(),
        region: r.admin1.clone(),
        country: country_name(&r.cc),
        cc: r.cc.clone(),
    })
}

/// The English short name of a country by its ISO alpha-2 code.
pub fn country_name(cc: &str) -> String {
    if let Some((_, short)) = SHORT_NAMES.iter().find(|(c, _)| *c == cc) {
        return (*short).to_string();
    }
    isocountry::CountryCode::for_alpha2(cc)
        .map(|c| c.name().to_string())
        .unwrap_or_else(|_| cc.to_string())
}

/// ISO's formal names that nobody types.
const SHORT_NAMES: &[(&str, &str)] = &[
    ("GB", "United Kingdom"),
    ("US", "United States"),
    ("KR", "South Korea"),
    ("KP", "North Korea"),
    ("RU", "Russia"),
    ("VN", "Vietnam"),
    ("IR", "Iran"),
    ("TW", "Taiwan"),
    ("BO", "Bolivia"),
    ("VE", "Venezuela"),
    ("TZ", "Tanzania"),
    ("SY", "Syria"),
    ("LA", "Laos"),
    ("MD", "Moldova"),
    ("CD", "DR Congo"),
    ("FM", "Micronesia"),
    ("BN", "Brunei"),
    ("PS", "Palestine"),
    ("VA", "Vatican City"),
    ("MK", "North Macedonia"),
    ("CZ", "Czechia"),
];

fn country_aliases(cc: &str) -> Vec<&'static str> {
    match cc {
        "US" => vec!["usa", "america"],
        "GB" => vec!["uk", "britain"],
        "AE" => vec!["uae"],
        "NL" => vec!["holland"],
        _ => vec![],
    }
}

/// Lower case, accents removed (NFD, combining marks dropped), every run of non-alphanumerics one
/// space: the same words SQLite's `unicode61 remove_diacritics 2` tokenizer sees.
pub fn fold_words(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut gap = false;
    for c in s
        .nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
    {
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.extend(c.to_lowercase());
        } else {
            gap = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn famous_places_are_named_with_region_and_country() {
        let cases = [
            ((43.6961, 7.2719), "Nice", "FR", "France"),
            ((48.8530, 2.3499), "Paris", "FR", "France"),
            ((35.0116, 135.7681), "Kyoto", "JP", "Japan"),
            ((-33.8688, 151.2093), "Sydney", "AU", "Australia"),
            ((40.7580, -73.9855), "", "US", "United States"),
            ((51.5007, -0.1246), "", "GB", "United Kingdom"),
            ((-22.9519, -43.2105), "", "BR", "Brazil"),
        ];
        for ((lat, lon), city, cc, country) in cases {
            let p = place_of(lat, lon).unwrap_or_else(|| panic!("{lat},{lon}"));
            if !city.is_empty() {
                assert_eq!(p.city, city, "{p:?}");
            }
            assert_eq!((p.cc.as_str(), p.country.as_str()), (cc, country), "{p:?}");
            assert!(!p.city.is_empty());
        }
        let nice = place_of(43.6961, 7.2719).unwrap();
        assert_eq!(nice.region, "Provence-Alpes-Cote d'Azur");
        assert_eq!(
            nice.search_key(),
            " nice provence alpes cote d azur france "
        );
    }

    #[test]
    fn the_open_sea_and_nonsense_have_no_place() {
        assert_eq!(place_of(0.0, 0.0), None, "null island");
        assert_eq!(place_of(-40.0, -120.0), None, "south Pacific");
        assert_eq!(place_of(f64::NAN, 3.0), None);
        assert_eq!(place_of(91.0, 3.0), None);
    }

    #[test]
    fn words_fold_like_the_search_tokenizer() {
        assert_eq!(fold_words("Vacances à Nice"), "vacances a nice");
        assert_eq!(fold_words("  Café--CRÈME_2023.jpg "), "cafe creme 2023 jpg");
        assert_eq!(fold_words("Zürich"), "zurich");
        assert_eq!(country_name("GB"), "United Kingdom");
        assert_eq!(country_name("DE"), "Germany");
        assert!(
            Place {
                cc: "US".into(),
                ..Default::default()
            }
            .search_key()
            .contains(" usa ")
        );
    }
}
