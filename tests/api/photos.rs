//! Photos through the real server: the timeline over 5,000 uploaded pictures (month buckets and
//! cursor pages, with and without EXIF dates), places from GPS in six countries (and their
//! backfill for photos processed before places existed), "on this day", and albums.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::photo_fixtures::{ascii, field, splice_exif};

/// A tiny JPEG (so 5,000 decode quickly) carrying a date taken with its offset and, optionally, GPS.
fn photo(seed: u32, taken: Option<&str>, gps: Option<(f64, f64)>) -> Vec<u8> {
    use exif::Tag;
    let img = picture(
        48,
        32,
        [(seed * 37 % 255) as u8, (seed * 11 % 255) as u8, 90],
    );
    let jpeg = jpeg_bytes(&img);
    let mut fields = Vec::new();
    if let Some(t) = taken {
        fields.push(field(Tag::DateTimeOriginal, ascii(t)));
        fields.push(field(Tag::OffsetTimeOriginal, ascii("+00:00")));
    }
    if let Some((lat, lon)) = gps {
        fields.extend(gps_fields(lat, lon));
    }
    if fields.is_empty() {
        jpeg
    } else {
        splice_exif(&jpeg, &fields)
    }
}

/// `YYYY:MM:DD HH:MM:SS` of photo `i`: spread over 2021-2023, several a day, some near midnight.
fn taken_of(i: u32) -> (String, String) {
    let day = i % 1000; // 1000 days from 2021-01-01
    let secs = 1_609_459_200i64
        + day as i64 * 86_400
        + ((i / 1000) as i64 * 4_321 + i as i64 * 7) % 86_400;
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs as u64);
    let iso = humantime::format_rfc3339_seconds(t).to_string(); // 2021-01-01T00:00:00Z
    let exif = format!(
        "{}:{}:{} {}",
        &iso[0..4],
        &iso[5..7],
        &iso[8..10],
        &iso[11..19]
    );
    (exif, iso)
}

async fn upload_batch(app: &TestApp, token: &str, files: Vec<(String, Vec<u8>)>) {
    let refs: Vec<(&str, Vec<u8>)> = files.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    let r = app.upload(token, "", &refs).await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_timeline_of_5000_photos_in_months_and_pages() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    const N: u32 = 5000;
    const NO_EXIF: u32 = 50; // every 100th has no date: it goes by its file time (now)
    let mut expected: Vec<(String, String)> = Vec::new(); // (iso time, name)
    let mut batch = Vec::new();
    for i in 0..N {
        let name = format!("IMG_{i:05}.jpg");
        let dated = i % 100 != 0;
        let (exif, iso) = taken_of(i);
        batch.push((name.clone(), photo(i, dated.then_some(exif.as_str()), None)));
        if dated {
            expected.push((iso, name));
        }
        if batch.len() == 250 {
            upload_batch(&app, &alice.token, std::mem::take(&mut batch)).await;
        }
    }
    app.run_pending_jobs().await;

    // Buckets: each month's count, newest first; the undated ones in this month.
    let b = app.get_json("/api/photos/buckets", &alice.token).await;
    assert_eq!(b["total"], N as i64, "{b}");
    let mut want: BTreeMap<String, i64> = BTreeMap::new();
    for (iso, _) in &expected {
        *want.entry(iso[..7].to_string()).or_default() += 1;
    }
    let now_month = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
        [..7]
        .to_string();
    *want.entry(now_month.clone()).or_default() += NO_EXIF as i64;
    let got: Vec<(String, i64)> = b["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["month"].as_str().unwrap().to_string(),
                x["count"].as_i64().unwrap(),
            )
        })
        .collect();
    let want_desc: Vec<(String, i64)> = want.clone().into_iter().rev().collect();
    assert_eq!(got, want_desc);

    // The whole timeline by cursor pages: every photo once, newest first.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let url = match &cursor {
            Some(c) => format!("/api/photos?limit=700&cursor={c}"),
            None => "/api/photos?limit=700".to_string(),
        };
        let p = app.get_json(&url, &alice.token).await;
        pages += 1;
        for it in p["items"].as_array().unwrap() {
            seen.push((
                it["media"]["taken_at"].as_str().map(str::to_string),
                it["name"].as_str().unwrap().to_string(),
            ));
        }
        match p["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 8);
    assert_eq!(seen.len(), N as usize);
    let mut names: Vec<&String> = seen.iter().map(|(_, n)| n).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), N as usize, "no photo twice");
    // The undated come first (their file time is now), then by date taken, newest first.
    assert!(seen[..NO_EXIF as usize].iter().all(|(t, _)| t.is_none()));
    // taken_at is RFC 3339 with milliseconds: compared to the second.
    let dated: Vec<(String, String)> = seen[NO_EXIF as usize..]
        .iter()
        .map(|(t, n)| (t.clone().expect("dated")[..19].to_string(), n.clone()))
        .collect();
    let mut sorted = expected
        .iter()
        .map(|(iso, n)| (iso[..19].to_string(), n.clone()))
        .collect::<Vec<_>>();
    sorted.sort_by(|a, b| b.0.cmp(&a.0));
    assert_eq!(
        dated.iter().map(|d| &d.0).collect::<Vec<_>>(),
        sorted.iter().map(|d| &d.0).collect::<Vec<_>>()
    );

    // One month, in a time zone: July 2022 in UTC+2 starts at 22:00 UTC on June 30.
    let in_month = |tz: i64| -> usize {
        expected
            .iter()
            .filter(|(iso, _)| {
                let t = humantime::parse_rfc3339(iso).unwrap();
                let local = t + std::time::Duration::from_secs((tz * 60) as u64);
                humantime::format_rfc3339_seconds(local)
                    .to_string()
                    .starts_with("2022-07")
            })
            .count()
    };
    for tz in [0i64, 120] {
        let p = app
            .get_json(
                &format!("/api/photos?month=2022-07&tz={tz}&limit=2000"),
                &alice.token,
            )
            .await;
        assert_eq!(
            p["items"].as_array().unwrap().len(),
            in_month(tz),
            "tz {tz}"
        );
        assert!(p["next_cursor"].is_null());
        let b = app
            .get_json(&format!("/api/photos/buckets?tz={tz}"), &alice.token)
            .await;
        let july = b["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["month"] == "2022-07")
            .unwrap();
        assert_eq!(july["count"], in_month(tz) as i64, "tz {tz}");
    }
    // Bad queries are named.
    for q in [
        "month=2022-13",
        "limit=0",
        "limit=5000",
        "tz=9999",
        "cursor=nonsense",
        "type=pdf",
        "colour=red",
    ] {
        let r = app.get(&format!("/api/photos?{q}"), &alice.token).await;
        assert_error(r, StatusCode::BAD_REQUEST, "invalid-query").await;
    }
    // Another user has an empty timeline.
    let bob = app.register("bob").await;
    let b = app.get_json("/api/photos/buckets", &bob.token).await;
    assert_eq!(b, json!({"buckets": [], "total": 0}));
}

const PLACES: &[(&str, f64, f64, &str, &str)] = &[
    ("nice.jpg", 43.6961, 7.2719, "France", "Nice"),
    ("nice2.jpg", 43.7000, 7.2650, "France", "Nice"),
    ("kyoto.jpg", 35.0116, 135.7681, "Japan", "Kyoto"),
    ("sydney.jpg", -33.8688, 151.2093, "Australia", "Sydney"),
    ("berlin.jpg", 52.5244, 13.4105, "Germany", "Berlin"),
    ("rome.jpg", 41.8902, 12.4922, "Italy", "Rome"),
    ("quebec.jpg", 46.8123, -71.2145, "Canada", "Quebec"),
];

async fn places_of(app: &TestApp, token: &str) -> Vec<(String, String, i64)> {
    let p = app.get_json("/api/places", token).await;
    let mut out = Vec::new();
    for c in p["countries"].as_array().unwrap() {
        for city in c["cities"].as_array().unwrap() {
            out.push((
                c["country"].as_str().unwrap().to_string(),
                city["city"].as_str().unwrap().to_string(),
                city["count"].as_i64().unwrap(),
            ));
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn places_are_named_from_gps_offline_and_backfilled() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let mut files: Vec<(String, Vec<u8>)> = PLACES
        .iter()
        .enumerate()
        .map(|(i, (n, lat, lon, _, _))| {
            (
                n.to_string(),
                photo(i as u32, Some("2023:07:14 10:00:00"), Some((*lat, *lon))),
            )
        })
        .collect();
    files.push((
        "sea.jpg".into(),
        photo(99, Some("2023:07:14 10:00:00"), Some((-40.0, -120.0))),
    ));
    files.push((
        "nogps.jpg".into(),
        photo(98, Some("2023:07:14 10:00:00"), None),
    ));
    upload_batch(&app, &alice.token, files).await;
    app.run_pending_jobs().await;

    let want: Vec<(String, String, i64)> = {
        let mut w = vec![
            ("Australia".into(), "Sydney".into(), 1),
            ("Canada".into(), "Quebec".into(), 1),
            ("France".into(), "Nice".into(), 2),
            ("Germany".into(), "Berlin".into(), 1),
            ("Italy".into(), "Rome".into(), 1),
            ("Japan".into(), "Kyoto".into(), 1),
        ];
        w.sort();
        w
    };
    assert_eq!(places_of(&app, &alice.token).await, want);
    let p = app.get_json("/api/places", &alice.token).await;
    let fr = &p["countries"][0];
    assert_eq!(
        (fr["cc"].as_str(), fr["count"].as_i64()),
        (Some("FR"), Some(2)),
        "most photos first: {p}"
    );
    assert_eq!(fr["cities"][0]["region"], "Provence-Alpes-Cote d'Azur");
    // A place's photos.
    let nice = app
        .get_json("/api/photos?cc=FR&city=Nice", &alice.token)
        .await;
    let mut names: Vec<&str> = nice["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["nice.jpg", "nice2.jpg"]);
    assert!(fr["cover_id"].is_string());

    // Photos processed before places existed: their rows lose the place, a restart names them.
    {
        let c = app.app.db.conn().unwrap();
        c.execute_batch(
            "UPDATE media SET place_city = NULL, place_region = NULL, place_country = NULL, place_cc = NULL, place_key = NULL",
        )
        .unwrap();
    }
    assert_eq!(places_of(&app, &alice.token).await, vec![]);
    let (dir, config) = app.stop().await;
    let app = start(dir, config).await;
    let db = app.app.db.clone();
    wait_until(
        "the places backfill",
        std::time::Duration::from_secs(30),
        || {
            let c = db.conn().unwrap();
            c.query_row(
                "SELECT count(*) FROM media WHERE gps_lat IS NOT NULL AND place_cc IS NULL",
                [],
                |r| r.get::<_, i64>(0),
            )
            .unwrap()
                == 0
        },
    )
    .await;
    assert_eq!(places_of(&app, &alice.token).await, want);
    // The open sea is looked up once and named nothing; a photo without GPS is not looked up.
    let c = app.app.db.conn().unwrap();
    let sea: String = c
        .query_row("SELECT m.place_cc FROM media m JOIN nodes n ON n.id = m.node_id WHERE n.name = 'sea.jpg'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sea, "");
}

#[tokio::test]
async fn on_this_day_shows_earlier_years_only() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let now = std::time::SystemTime::now();
    let iso = humantime::format_rfc3339_seconds(now).to_string();
    let (y, md) = (
        iso[..4].parse::<i32>().unwrap(),
        format!("{}:{}", &iso[5..7], &iso[8..10]),
    );
    let files = vec![
        (
            "then.jpg".to_string(),
            photo(1, Some(&format!("{}:{md} 12:00:00", y - 3)), None),
        ),
        (
            "before.jpg".to_string(),
            photo(2, Some(&format!("{}:{md} 12:00:00", y - 1)), None),
        ),
        (
            "today.jpg".to_string(),
            photo(3, Some(&format!("{y}:{md} 00:00:01")), None),
        ),
        (
            "other.jpg".to_string(),
            photo(4, Some("2001:01:01 12:00:00"), None),
        ),
    ];
    upload_batch(&app, &alice.token, files).await;
    app.run_pending_jobs().await;
    let d = app.get_json("/api/photos/on-this-day", &alice.token).await;
    let years: Vec<(i64, Vec<&str>)> = d["years"]
        .as_array()
        .unwrap()
        .iter()
        .map(|y| {
            (
                y["year"].as_i64().unwrap(),
                y["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["name"].as_str().unwrap())
                    .collect(),
            )
        })
        .collect();
    // 01-01 of 2001 shows only on New Year's Day.
    if md != "01:01" {
        assert_eq!(
            years,
            vec![
                ((y - 1) as i64, vec!["before.jpg"]),
                ((y - 3) as i64, vec!["then.jpg"])
            ]
        );
    }
}

async fn ids_by_name(app: &TestApp, token: &str) -> BTreeMap<String, String> {
    let l = app.get_json("/api/files/?limit=1000", token).await;
    l["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap().to_string(),
                i["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Value,
) -> reqwest::Response {
    app.client
        .request(method.parse().unwrap(), app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn albums_gather_photos_without_ever_touching_the_files() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let files: Vec<(String, Vec<u8>)> = (0..6)
        .map(|i| {
            (
                format!("p{i}.jpg"),
                photo(i, Some(&format!("2023:0{}:10 12:00:00", i + 1)), None),
            )
        })
        .collect();
    upload_batch(&app, &alice.token, files).await;
    app.upload_one(&alice.token, "", "notes.txt", b"not a photo".to_vec())
        .await;
    app.upload_one(
        &bob.token,
        "",
        "bob.jpg",
        photo(9, Some("2023:01:01 10:00:00"), None),
    )
    .await;
    app.run_pending_jobs().await;
    let ids = ids_by_name(&app, &alice.token).await;
    let bob_photo = ids_by_name(&app, &bob.token).await["bob.jpg"].clone();
    let id = |n: &str| ids[n].clone();

    // Made from a selection.
    let r = send(
        &app,
        "POST",
        "/api/albums",
        &alice.token,
        json!({"name": "  Summer 2023 ", "ids": [id("p1.jpg"), id("p2.jpg"), id("p3.jpg")]}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let a: Value = r.json().await.unwrap();
    let aid = a["id"].as_str().unwrap().to_string();
    assert_eq!(
        (a["name"].as_str(), a["count"].as_i64()),
        (Some("Summer 2023"), Some(3))
    );
    assert_eq!(
        a["cover_id"],
        id("p3.jpg"),
        "the newest is the cover by default"
    );
    assert_eq!(a["first_at"], "2023-02-10T12:00:00.000Z");
    let names = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_string())
            .collect()
    };
    let got = app
        .get_json(&format!("/api/albums/{aid}"), &alice.token)
        .await;
    assert_eq!(names(&got), ["p3.jpg", "p2.jpg", "p1.jpg"]);

    // Add (one twice: counted once), remove, cover, sort, rename.
    let r = send(
        &app,
        "POST",
        &format!("/api/albums/{aid}/items"),
        &alice.token,
        json!({"ids": [id("p4.jpg"), id("p1.jpg")]}),
    )
    .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (v["changed"].as_u64(), v["album"]["count"].as_i64()),
        (Some(1), Some(4))
    );
    let r = send(
        &app,
        "DELETE",
        &format!("/api/albums/{aid}/items"),
        &alice.token,
        json!({"ids": [id("p2.jpg")]}),
    )
    .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (v["changed"].as_u64(), v["album"]["count"].as_i64()),
        (Some(1), Some(3))
    );
    assert!(
        !app.download(&alice.token, &id("p2.jpg")).await.is_empty(),
        "removed from the album, not deleted"
    );
    let r = send(
        &app,
        "PATCH",
        &format!("/api/albums/{aid}"),
        &alice.token,
        json!({"cover_id": id("p1.jpg"), "sort": "asc", "name": "Summer"}),
    )
    .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (
            v["cover_id"].as_str(),
            v["sort"].as_str(),
            v["name"].as_str()
        ),
        (Some(id("p1.jpg").as_str()), Some("asc"), Some("Summer"))
    );
    assert_eq!(
        names(
            &app.get_json(&format!("/api/albums/{aid}"), &alice.token)
                .await
        ),
        ["p1.jpg", "p3.jpg", "p4.jpg"]
    );
    // A cover outside the album, junk, and files that are not her photos are refused, naming why.
    let r = send(
        &app,
        "PATCH",
        &format!("/api/albums/{aid}"),
        &alice.token,
        json!({"cover_id": id("p5.jpg")}),
    )
    .await;
    assert_error(r, StatusCode::BAD_REQUEST, "not-a-photo").await;
    for bad in [id("notes.txt"), bob_photo.clone(), "no-such-id".to_string()] {
        let r = send(
            &app,
            "POST",
            &format!("/api/albums/{aid}/items"),
            &alice.token,
            json!({"ids": [id("p5.jpg"), bad]}),
        )
        .await;
        assert_error(r, StatusCode::BAD_REQUEST, "not-a-photo").await;
    }
    assert_eq!(
        app.get_json(&format!("/api/albums/{aid}"), &alice.token)
            .await["album"]["count"],
        3,
        "nothing added by a refused request"
    );
    for (body, code) in [
        (json!({"name": " "}), "invalid-album"),
        (json!({"sort": "up"}), "invalid-album"),
    ] {
        let r = send(
            &app,
            "PATCH",
            &format!("/api/albums/{aid}"),
            &alice.token,
            body,
        )
        .await;
        assert_error(r, StatusCode::BAD_REQUEST, code).await;
    }
    // The cover back to automatic.
    let r = send(
        &app,
        "PATCH",
        &format!("/api/albums/{aid}"),
        &alice.token,
        json!({"cover_id": null}),
    )
    .await;
    assert_eq!(r.json::<Value>().await.unwrap()["cover_id"], id("p4.jpg"));

    // Bob sees no album of hers, and cannot touch it.
    assert_eq!(
        app.get_json("/api/albums", &bob.token).await["albums"],
        json!([])
    );
    let r = app.get(&format!("/api/albums/{aid}"), &bob.token).await;
    assert_error(r, StatusCode::NOT_FOUND, "album-not-found").await;
    let r = send(
        &app,
        "POST",
        &format!("/api/albums/{aid}/items"),
        &bob.token,
        json!({"ids": [bob_photo]}),
    )
    .await;
    assert_error(r, StatusCode::NOT_FOUND, "album-not-found").await;

    // A photo in the trash leaves the album's view and comes back with it.
    crate::trash::api_delete(&app, &alice, &id("p3.jpg")).await;
    assert_eq!(
        names(
            &app.get_json(&format!("/api/albums/{aid}"), &alice.token)
                .await
        ),
        ["p1.jpg", "p4.jpg"]
    );
    assert_eq!(
        crate::trash::restore(&app, &alice, &id("p3.jpg"), None)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        names(
            &app.get_json(&format!("/api/albums/{aid}"), &alice.token)
                .await
        ),
        ["p1.jpg", "p3.jpg", "p4.jpg"]
    );

    // Deleting the album keeps every file.
    let before = app.all_nodes(&alice.token).await.len();
    let r = send(
        &app,
        "DELETE",
        &format!("/api/albums/{aid}"),
        &alice.token,
        json!({}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.all_nodes(&alice.token).await.len(), before);
    let r = app.get(&format!("/api/albums/{aid}"), &alice.token).await;
    assert_error(r, StatusCode::NOT_FOUND, "album-not-found").await;
    assert_eq!(
        app.get_json("/api/albums", &alice.token).await["albums"],
        json!([])
    );
}

/// The viewer pages through the timeline: each photo's newer and older neighbour, ties on the same
/// second broken as pages break them, place filters kept, the ends null, strangers 404.
#[tokio::test]
async fn the_viewer_steps_through_the_timeline_by_neighbours() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let paris = Some((48.8566, 2.3522));
    let files = vec![
        (
            "a.jpg".to_string(),
            photo(1, Some("2023:07:01 10:00:00"), paris),
        ),
        (
            "b.jpg".to_string(),
            photo(2, Some("2023:07:02 10:00:00"), None),
        ),
        (
            "c.jpg".to_string(),
            photo(3, Some("2023:07:02 10:00:00"), paris),
        ),
        (
            "d.jpg".to_string(),
            photo(4, Some("2024:01:05 08:00:00"), paris),
        ),
    ];
    upload_batch(&app, &alice.token, files).await;
    app.run_pending_jobs().await;
    let ids = ids_by_name(&app, &alice.token).await;
    let name_of = |v: &Value| v["name"].as_str().map(str::to_string);

    // The timeline's own order, from its first page.
    let page = app.get_json("/api/photos?limit=10", &alice.token).await;
    let order: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(name_of)
        .collect();
    assert_eq!(order.len(), 4);
    assert_eq!(order[0], "d.jpg");
    assert_eq!(order[3], "a.jpg");
    for (i, name) in order.iter().enumerate() {
        let n = app
            .get_json(
                &format!("/api/photos/{}/neighbours", ids[name]),
                &alice.token,
            )
            .await;
        assert_eq!(
            name_of(&n["newer"]),
            i.checked_sub(1).map(|j| order[j].clone()),
            "{name}"
        );
        assert_eq!(name_of(&n["older"]), order.get(i + 1).cloned(), "{name}");
    }
    // Within a place, b.jpg (no GPS) is stepped over.
    let n = app
        .get_json(
            &format!("/api/photos/{}/neighbours?cc=FR", ids["a.jpg"]),
            &alice.token,
        )
        .await;
    assert_eq!(name_of(&n["newer"]).as_deref(), Some("c.jpg"));
    assert!(n["older"].is_null());
    // Another user's photo is not there for bob; neither is a made-up id.
    for id in [ids["a.jpg"].as_str(), "nope"] {
        let r = app
            .client
            .get(app.url(&format!("/api/photos/{id}/neighbours")))
            .bearer_auth(&bob.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(r.json::<Value>().await.unwrap()["code"], "not-found");
    }
}
