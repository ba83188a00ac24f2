//! Search that understands what people type, without a CLIP model: names and folder names by
//! whole words, case- and accent-insensitive; places; dates; filters that combine; the WebDAV
//! search view on the same engine; and the name index kept in step (fsck checks it).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::photo_fixtures::{ascii, field, splice_exif};

fn photo(taken: &str, gps: Option<(f64, f64)>) -> Vec<u8> {
    use exif::Tag;
    let mut fields = vec![
        field(Tag::DateTimeOriginal, ascii(taken)),
        field(Tag::OffsetTimeOriginal, ascii("+02:00")),
    ];
    if let Some((lat, lon)) = gps {
        fields.extend(gps_fields(lat, lon));
    }
    splice_exif(&jpeg_bytes(&picture(40, 30, [200, 120, 40])), &fields)
}

const NICE: (f64, f64) = (43.6961, 7.2719);

/// `(names of the hits, sorted; reasons by name)` of a search.
async fn search(app: &TestApp, token: &str, query: &str) -> (Vec<String>, Value) {
    let v = app.get_json(&format!("/api/search?{query}"), token).await;
    let mut names: Vec<String> = v["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|h| h["file"]["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    let reasons: serde_json::Map<String, Value> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["file"]["name"].as_str().unwrap().to_string(),
                h["reasons"].clone(),
            )
        })
        .collect();
    (names, Value::Object(reasons))
}

#[tokio::test]
async fn names_places_and_dates_are_understood_and_filters_combine() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let folder = app.mkdir(&alice.token, None, "Vacances à Nice").await;
    let fid = folder["id"].as_str().unwrap();
    let r = app
        .upload(
            &alice.token,
            &format!("?folder={fid}"),
            &[
                ("IMG_2001.jpg", photo("2022:08:02 10:00:00", None)),
                ("plage.jpg", photo("2022:08:03 10:00:00", None)),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = app
        .upload(
            &alice.token,
            "",
            &[
                ("DSC_0001.jpg", photo("2021:05:01 18:00:00", Some(NICE))),
                ("café.jpg", photo("2020:01:01 10:00:00", None)),
                ("IMG_1001.jpg", photo("2020:01:02 10:00:00", None)),
                ("report 100.txt", b"a hundred".to_vec()),
                ("j1.jpg", photo("2023:07:14 21:05:09", Some(NICE))),
                ("j2.jpg", photo("2023:07:01 01:30:00", None)), // 23:30 UTC on June 30: July in Paris
                ("a1.jpg", photo("2023:08:01 12:00:00", None)),
                ("nicety.txt", b"not a word match".to_vec()),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    app.upload_one(
        &bob.token,
        "",
        "nice.jpg",
        photo("2023:07:02 10:00:00", Some(NICE)),
    )
    .await;
    app.run_pending_jobs().await;

    // "nice": the folder, what is in it, and the photos taken in Nice; not "nicety".
    let (names, reasons) = search(&app, &alice.token, "q=nice").await;
    assert_eq!(
        names,
        [
            "DSC_0001.jpg",
            "IMG_2001.jpg",
            "Vacances à Nice",
            "j1.jpg",
            "plage.jpg"
        ]
    );
    assert_eq!(reasons["plage.jpg"], json!([{"kind": "name"}]));
    assert_eq!(
        reasons["DSC_0001.jpg"],
        json!([{"kind": "place", "place": "Nice, France"}])
    );
    assert_eq!(
        search(&app, &alice.token, "q=NICE").await.0,
        names,
        "case does not matter"
    );
    assert_eq!(
        search(&app, &alice.token, "q=photos%20in%20nice").await.0,
        names,
        "small words do not count"
    );
    // Words of the folder and the name together.
    assert_eq!(
        search(&app, &alice.token, "q=vacances%20plage").await.0,
        ["plage.jpg"]
    );
    // Accents either way.
    assert_eq!(search(&app, &alice.token, "q=cafe").await.0, ["café.jpg"]);
    assert_eq!(search(&app, &alice.token, "q=CAFÉ").await.0, ["café.jpg"]);
    assert_eq!(
        search(&app, &alice.token, "q=vacances%20a%20nice")
            .await
            .0
            .len(),
        3
    );
    // Whole words: "100%" is the word 100, not a part of 1001.
    assert_eq!(
        search(&app, &alice.token, "q=100%25").await.0,
        ["report 100.txt"]
    );
    assert_eq!(
        search(&app, &alice.token, "q=1001").await.0,
        ["IMG_1001.jpg"]
    );
    // A place by its country or region too.
    assert_eq!(
        search(&app, &alice.token, "q=france").await.0,
        ["DSC_0001.jpg", "j1.jpg"]
    );

    // Dates: in the caller's time zone; with words, they narrow the words' hits.
    let (names, reasons) = search(&app, &alice.token, "q=july%202023&tz=120").await;
    assert_eq!(names, ["j1.jpg", "j2.jpg"]);
    assert_eq!(
        reasons["j1.jpg"],
        json!([{"kind": "date", "date": "july 2023"}])
    );
    assert_eq!(
        search(&app, &alice.token, "q=july%202023&tz=0").await.0,
        ["j1.jpg"],
        "j2 is June 30 in UTC"
    );
    assert_eq!(
        search(&app, &alice.token, "q=juillet%202023&tz=120")
            .await
            .0,
        ["j1.jpg", "j2.jpg"]
    );
    assert_eq!(search(&app, &alice.token, "q=2023-08").await.0, ["a1.jpg"]);
    assert_eq!(
        search(&app, &alice.token, "q=summer%202023&tz=120").await.0,
        ["a1.jpg", "j1.jpg", "j2.jpg"]
    );
    assert_eq!(
        search(&app, &alice.token, "q=nice%202023").await.0,
        ["j1.jpg"]
    );
    assert_eq!(
        search(&app, &alice.token, "q=nice%202022").await.0,
        ["IMG_2001.jpg", "plage.jpg"]
    );

    // Filters combine with the query and with each other.
    assert_eq!(
        search(&app, &alice.token, "q=nice&type=photo").await.0,
        ["DSC_0001.jpg", "IMG_2001.jpg", "j1.jpg", "plage.jpg"]
    );
    assert_eq!(
        search(
            &app,
            &alice.token,
            "q=nice&from=2022-08-03&to=2023-12-31&tz=120"
        )
        .await
        .0,
        ["j1.jpg", "plage.jpg"]
    );
    assert_eq!(
        search(&app, &alice.token, "q=july%202023&place=FR&tz=120")
            .await
            .0,
        ["j1.jpg"]
    );
    assert_eq!(
        search(&app, &alice.token, "q=nice&place=Nice").await.0,
        ["DSC_0001.jpg", "j1.jpg"]
    );
    let ids: Value = app.get_json("/api/files/?limit=100", &alice.token).await;
    let id_of = |n: &str| {
        ids["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == n)
            .unwrap()["id"]
            .clone()
    };
    let r = app
        .client
        .post(app.url("/api/albums"))
        .bearer_auth(&alice.token)
        .json(&json!({"name": "Best", "ids": [id_of("j1.jpg"), id_of("a1.jpg")]}))
        .send()
        .await
        .unwrap();
    let album: Value = r.json().await.unwrap();
    let aid = album["id"].as_str().unwrap();
    assert_eq!(
        search(&app, &alice.token, &format!("q=nice&album={aid}"))
            .await
            .0,
        ["j1.jpg"]
    );
    assert_eq!(
        search(&app, &bob.token, &format!("q=nice&album={aid}"))
            .await
            .0,
        Vec::<String>::new(),
        "her album filters nothing in for him"
    );
    for bad in [
        "q=nice&type=pdf",
        "q=nice&from=2023-13-01",
        "q=nice&tz=5000",
        "q=nice&from=yesterday",
    ] {
        let r = app.get(&format!("/api/search?{bad}"), &alice.token).await;
        assert_error(r, StatusCode::BAD_REQUEST, "invalid-query").await;
    }

    // Bob finds only his own.
    assert_eq!(search(&app, &bob.token, "q=nice").await.0, ["nice.jpg"]);

    // Renamed, moved to the trash, restored: the index follows in the same transaction.
    let plage = id_of_in(&app, &alice.token, fid, "plage.jpg").await;
    let r = app
        .client
        .patch(app.url(&format!("/api/files/{plage}")))
        .bearer_auth(&alice.token)
        .json(&json!({"name": "Strand.jpg"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        search(&app, &alice.token, "q=strand").await.0,
        ["Strand.jpg"]
    );
    assert_eq!(
        search(&app, &alice.token, "q=plage").await.0,
        Vec::<String>::new()
    );
    crate::trash::api_delete(&app, &alice, fid).await;
    assert_eq!(
        search(&app, &alice.token, "q=vacances").await.0,
        Vec::<String>::new()
    );
    assert_eq!(
        crate::trash::restore(&app, &alice, fid, None)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        search(&app, &alice.token, "q=vacances").await.0,
        ["IMG_2001.jpg", "Strand.jpg", "Vacances à Nice"]
    );

    // The WebDAV search view answers from the same engine.
    let r = app
        .dav("PROPFIND", "/dav/search/alice/cafe/", "alice", PASSWORD)
        .header("depth", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 207);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("caf%C3%A9.jpg") || body.contains("café.jpg"),
        "{body}"
    );
    assert!(!body.contains("IMG_1001"), "{body}");
}

async fn id_of_in(app: &TestApp, token: &str, folder: &str, name: &str) -> String {
    let l = app
        .get_json(&format!("/api/files/?folder={folder}"), token)
        .await;
    l["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn fsck_finds_a_name_index_out_of_step_and_rebuilds_it() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    app.upload_one(&alice.token, "", "holiday.txt", b"x".to_vec())
        .await;
    assert_eq!(
        search(&app, &alice.token, "q=holiday").await.0,
        ["holiday.txt"]
    );
    // What a VACUUM copy restored without a rebuild would leave: the index misses a row.
    {
        let c = app.app.db.conn().unwrap();
        c.execute_batch(
            "INSERT INTO nodes_fts(nodes_fts, rowid, name)
               SELECT 'delete', rowid, name FROM nodes WHERE name = 'holiday.txt'",
        )
        .unwrap();
    }
    assert_eq!(
        search(&app, &alice.token, "q=holiday").await.0,
        Vec::<String>::new()
    );
    let data = app.config.data_dir.clone();
    let (dir, config) = app.stop().await;
    let fsck = |args: &[&str]| {
        let out = crate::crash::cli(&data).args(args).output().unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let out = fsck(&["fsck"]);
    assert!(
        out.contains("search index of names is out of step"),
        "{out}"
    );
    let out = fsck(&["fsck", "--repair"]);
    assert!(out.contains("rebuilt the search index of names"), "{out}");
    let out = fsck(&["fsck"]);
    assert!(out.contains("store consistent"), "{out}");
    let app = start(dir, config).await;
    assert_eq!(
        search(&app, &alice.token, "q=holiday").await.0,
        ["holiday.txt"]
    );
}
