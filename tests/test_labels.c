/* RUNDIR/labels.json (doodle/labels.h): a round trip keeps every field (key_ids beyond 2^53, UTF-8 names, notes);
 * bad files are refused with the field named; the re-clustering rule moves names with their drawings when a
 * clustering renumbers, merges or splits its clusters; an update replaces only what it says. */
#include <stdlib.h>
#include <string.h>

#include "doodle/labels.h"
#include "testutil.h"

static const char *const CLASSES[] = {"cat", "dog", "The Great Wall of China"};

/* 30 drawings: key_ids from Google's range (some beyond 2^53), three classes; drawings 0-9 in cluster a, 10-19 in
 * b, 20-29 in c. Two drawings share key_id 17 in different classes, as rows of .npy files do. */
typedef struct clustering {
    uint64_t key[30];
    const char *cls[30];
    int32_t cluster[30];
} clustering;

static void make(clustering *c, int a, int b, int cc) {
    for (int i = 0; i < 30; i++) {
        c->key[i] = i < 15 ? 5152802093400064ULL + (uint64_t)i * 7919 : 18446744073709551000ULL + (uint64_t)i;
        c->cls[i] = CLASSES[i % 3];
        c->cluster[i] = i < 10 ? a : i < 20 ? b : cc;
    }
    c->key[3] = c->key[4] = 17; /* cat 17 and dog 17 */
}

static dd_labels_view view_of(const clustering *c, int k) {
    return (dd_labels_view){.n = 30, .key_id = c->key, .true_class = c->cls, .cluster = c->cluster, .k = k};
}

static void test_round_trip(const char *dir) {
    clustering c;
    make(&c, 0, 1, 2);
    dd_labels_view v = view_of(&c, 3);
    dd_labels l;
    dd_labels_init(&l);
    const char *names[3] = {"cats drawn as a face only", "planes with no wings \xe2\x9c\x88", NULL};
    dd_labels_drawing marks[2] = {{c.key[3], "cat"}, {c.key[25], "dog"}};
    const char *notes[2] = {"a \"dog\", really", NULL};
    dd_error err = {0};
    CHECK(dd_labels_update(&l, "kmeans", &v, names, marks, notes, 2, &err) == 0, "%s", err.msg);
    CHECK(l.n_clusters == 2 && l.n_marks == 2);
    char path[4200];
    snprintf(path, sizeof path, "%s/labels.json", dir);
    CHECK(dd_labels_save(path, &l, &err) == 0, "%s", err.msg);
    dd_labels back;
    CHECK(dd_labels_load(path, &back, &err) == 0, "%s", err.msg);
    CHECK(back.n_clusters == 2 && back.n_marks == 2);
    if (back.n_clusters == 2 && back.n_marks == 2) {
        CHECK(!strcmp(back.clusters[1].name, names[1]) && back.clusters[1].n_members == 10);
        CHECK(back.clusters[1].members[9].key_id == c.key[19] &&
              !strcmp(back.clusters[1].members[9].true_class, "dog"));
        CHECK(back.clusters[1].members[5].key_id == 18446744073709551000ULL + 15, "key_ids beyond 2^53 are exact");
        CHECK(!strcmp(back.marks[0].note, notes[0]) && back.marks[1].note == NULL);
        CHECK(!strcmp(back.marks[1].drawing.true_class, "dog") && back.marks[1].drawing.key_id == c.key[25]);
    }
    /* the text written again is the same bytes */
    char *a = dd_labels_to_json(&l, &err), *b = dd_labels_to_json(&back, &err);
    CHECK(a && b && !strcmp(a, b));
    free(a);
    free(b);
    dd_labels_free(&back);
    dd_labels_free(&l);
}

/* Every bad file is refused, naming the field. */
static void test_bad_files(void) {
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"{\"format\": \"doodle labels\", \"version\": 1,\n \"clusters\": [}", "t.json:2:"},
        {"[1, 2]", "format"},
        {"{\"format\": \"something else\", \"version\": 1}", "format"},
        {"{\"format\": \"doodle labels\", \"version\": 2}", "version"},
        {"{\"format\": \"doodle labels\", \"version\": 1, \"extra\": 1}", "(top).extra"},
        {"{\"format\": \"doodle labels\", \"version\": 1, \"clusters\": {}}", "clusters: not a list"},
        {"{\"format\": \"doodle labels\", \"version\": 1, \"clusters\": [{\"method\": \"kmeans\", \"cluster\": 1.5, "
         "\"name\": \"x\"}]}",
         "clusters[0].cluster"},
        {"{\"format\": \"doodle labels\", \"version\": 1, \"clusters\": [{\"method\": \"k means\", \"cluster\": 1, "
         "\"name\": \"x\"}]}",
         "clusters[0].method"},
        {"{\"format\": \"doodle labels\", \"version\": 1, \"clusters\": [{\"method\": \"kmeans\", \"cluster\": 1, "
         "\"name\": \"\"}]}",
         "clusters[0].name: empty"},
        {"{\"format\": \"doodle labels\", \"version\": 1, \"clusters\": [{\"method\": \"kmeans\", \"cluster\": 1, "
         "\"name\": \"a\\u0007b\"}]}",
         "clusters[0].name: a control character"},
        {"{\"format\": \"doodle labels\", \"version\": 1, \"clusters\": [{\"method\": \"kmeans\", \"cluster\": 1, "
         "\"name\": \"x\", \"members\": [{\"key_id\": \"12a\"}]}]}",
         "clusters[0].members[0].key_id"},
        {"{\"format\": \"doodle labels\", \"version\": 1, \"mislabelled\": [{\"key_id\": \"1\"}]}",
         "mislabelled[0].true"},
        {"{\"format\": \"doodle labels\", \"version\": 1, \"mislabelled\": [{\"key_id\": 18446744073709551615, "
         "\"true\": \"cat\"}]}",
         "write larger key_ids as strings"},
        {"{\"format\": \"doodle labels\", \"version\": 1, \"mislabelled\": [{\"key_id\": \"99999999999999999999\", "
         "\"true\": \"cat\"}]}",
         "mislabelled[0].key_id"},
        {"{\"format\": \"doodle labels\", \"version\": 1, \"mislabelled\": [{\"key_id\": \"1\", \"true\": \"cat\"}, "
         "{\"key_id\": \"1\", \"true\": \"cat\"}]}",
         "mislabelled[1]: the same drawing as mislabelled[0]"},
        {"{\"format\": \"doodle labels\", \"version\": 1, \"mislabelled\": [{\"key_id\": \"1\", \"true\": \"cat\", "
         "\"note\": \"\xc3\x28\"}]}",
         "mislabelled[0].note: not valid UTF-8"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        dd_labels l;
        dd_error err = {0};
        int rc = dd_labels_parse(cases[i].text, strlen(cases[i].text), "t.json", &l, &err);
        CHECK(rc == -1, "case %zu was taken", i);
        CHECK(strstr(err.msg, "t.json") && strstr(err.msg, cases[i].want), "case %zu: '%s' lacks '%s'", i, err.msg,
              cases[i].want);
        if (rc == 0) dd_labels_free(&l);
    }
    /* the same drawing in two classes is two drawings */
    const char *ok = "{\"format\": \"doodle labels\", \"version\": 1, \"mislabelled\": [{\"key_id\": \"17\", \"true\": "
                     "\"cat\"}, {\"key_id\": 17, \"true\": \"dog\"}]}";
    dd_labels l;
    dd_error err = {0};
    CHECK(dd_labels_parse(ok, strlen(ok), "ok.json", &l, &err) == 0, "%s", err.msg);
    dd_labels_free(&l);
    CHECK(dd_labels_load("/nonexistent/labels.json", &l, &err) == -1 && err.code == DD_ERR_IO);
}

/* Names follow their drawings: renumbered, merged, split, partly gone. */
static void test_rule(void) {
    clustering c;
    make(&c, 0, 1, 2);
    dd_labels_view v = view_of(&c, 3);
    dd_labels l;
    dd_labels_init(&l);
    const char *names[3] = {"A", "B", "C"};
    dd_error err = {0};
    CHECK(dd_labels_update(&l, "kmeans", &v, names, NULL, NULL, 0, &err) == 0, "%s", err.msg);

    clustering r; /* the same clusters numbered 2, 0, 1 */
    make(&r, 2, 0, 1);
    const char *shown[4];
    dd_labels_view rv = view_of(&r, 3);
    CHECK(dd_labels_name_clusters(&l, "kmeans", &rv, NULL, shown, &err) == 0);
    CHECK(!strcmp(shown[2], "A") && !strcmp(shown[0], "B") && !strcmp(shown[1], "C"), "renumbered");
    CHECK(dd_labels_cluster_name(&l, "kmeans", 2, 30, r.key, r.cls, r.cluster, 3) == shown[2]);
    CHECK(dd_labels_cluster_name(&l, "dbscan", 2, 30, r.key, r.cls, r.cluster, 3) == NULL, "another method");

    /* k = 2: a and b merged into cluster 1 (A and B tie at 10 members: the first saved, A, shows), c is 0 */
    make(&r, 1, 1, 0);
    rv = view_of(&r, 2);
    int follows[3];
    CHECK(dd_labels_name_clusters(&l, "kmeans", &rv, follows, shown, &err) == 0);
    CHECK(!strcmp(shown[1], "A") && !strcmp(shown[0], "C"), "merged: %s %s", shown[1], shown[0]);
    CHECK(follows[0] == 1 && follows[1] == 1 && follows[2] == 0);

    /* a split 6/4 between clusters 3 and 0: A follows the larger part */
    make(&r, 0, 1, 2);
    for (int i = 0; i < 6; i++) r.cluster[i] = 3;
    rv = view_of(&r, 4);
    CHECK(dd_labels_name_clusters(&l, "kmeans", &rv, NULL, shown, &err) == 0);
    CHECK(shown[3] && !strcmp(shown[3], "A") && !shown[0] && !strcmp(shown[1], "B") && !strcmp(shown[2], "C"));

    /* the class matters: cat 17 and dog 17 are different drawings. Move dog 17 (drawing 4) and 5 more of a's
     * drawings away: A keeps the 4 (cat 17 among them) in cluster 0 against 6 in cluster 2 -> follows 2 */
    make(&r, 0, 1, 2);
    for (int i = 4; i < 10; i++) r.cluster[i] = 2;
    rv = view_of(&r, 3);
    CHECK(dd_labels_name_clusters(&l, "kmeans", &rv, follows, NULL, &err) == 0);
    CHECK(follows[0] == 2, "A follows 6 of its 10: %d", follows[0]);

    /* drawings none of the names knows: no names */
    make(&r, 0, 1, 2);
    for (int i = 0; i < 30; i++) r.key[i] += 1000000;
    rv = view_of(&r, 3);
    CHECK(dd_labels_name_clusters(&l, "kmeans", &rv, NULL, shown, &err) == 0);
    CHECK(!shown[0] && !shown[1] && !shown[2]);

    /* a name written by hand without members keeps its id */
    const char *hand = "{\"format\": \"doodle labels\", \"version\": 1, \"clusters\": [{\"method\": \"dbscan\", "
                       "\"cluster\": 1, \"name\": \"by hand\"}]}";
    dd_labels h;
    CHECK(dd_labels_parse(hand, strlen(hand), "hand.json", &h, &err) == 0, "%s", err.msg);
    CHECK(dd_labels_cluster_name(&h, "dbscan", 1, 30, r.key, r.cls, r.cluster, 3) &&
          !strcmp(dd_labels_cluster_name(&h, "dbscan", 1, 30, r.key, r.cls, r.cluster, 3), "by hand"));
    dd_labels_free(&h);
    dd_labels_free(&l);
}

/* An update replaces the names following its clusters and the marks of its drawings, and keeps the rest. */
static void test_update(void) {
    clustering c;
    make(&c, 0, 1, 2);
    dd_labels_view v = view_of(&c, 3);
    dd_labels l;
    dd_labels_init(&l);
    dd_error err = {0};
    const char *first[3] = {"A", "B", NULL};
    dd_labels_drawing m1[1] = {{c.key[0], "cat"}};
    CHECK(dd_labels_update(&l, "kmeans", &v, first, m1, NULL, 1, &err) == 0, "%s", err.msg);
    const char *db[3] = {"noise-ish", NULL, NULL};
    CHECK(dd_labels_update(&l, "dbscan", &v, db, NULL, NULL, 0, &err) == 0, "%s", err.msg);

    /* re-clustered (b is now 0, a is 1): rename what was A, remove B, mark another drawing */
    clustering r;
    make(&r, 1, 0, 2);
    dd_labels_view rv = view_of(&r, 3);
    const char *second[3] = {"", "A renamed", "C"};
    dd_labels_drawing m2[1] = {{c.key[5], "The Great Wall of China"}};
    CHECK(dd_labels_update(&l, "kmeans", &rv, second, m2, NULL, 1, &err) == 0, "%s", err.msg);
    const char *shown[3];
    CHECK(dd_labels_name_clusters(&l, "kmeans", &rv, NULL, shown, &err) == 0);
    CHECK(!shown[0] && shown[1] && !strcmp(shown[1], "A renamed") && shown[2] && !strcmp(shown[2], "C"));
    CHECK(dd_labels_cluster_name(&l, "dbscan", 0, 30, c.key, c.cls, c.cluster, 3) &&
              !strcmp(dd_labels_cluster_name(&l, "dbscan", 0, 30, c.key, c.cls, c.cluster, 3), "noise-ish"),
          "the other method's name is kept");
    CHECK(l.n_marks == 1 && l.marks[0].drawing.key_id == c.key[5], "the view's marks are the new ones");

    /* refused: a drawing not clustered, the same drawing twice, a bad name; l is unchanged */
    dd_labels_drawing stray[1] = {{42, "cat"}};
    CHECK(dd_labels_update(&l, "kmeans", &rv, NULL, stray, NULL, 1, &err) == -1 && strstr(err.msg, "mislabelled[0]"));
    dd_labels_drawing twice[2] = {{c.key[5], "The Great Wall of China"}, {c.key[5], "The Great Wall of China"}};
    CHECK(dd_labels_update(&l, "kmeans", &rv, NULL, twice, NULL, 2, &err) == -1 && strstr(err.msg, "mislabelled[1]"));
    char longname[DD_LABELS_NAME_MAX + 2];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    const char *bad[3] = {longname, NULL, NULL};
    CHECK(dd_labels_update(&l, "kmeans", &rv, bad, NULL, NULL, 0, &err) == -1 && strstr(err.msg, "names[0]"));
    CHECK(l.n_marks == 1 && l.n_clusters == 3);
    dd_labels_free(&l);
}

int main(void) {
    const char *dir = test_tmp_dir("test_labels");
    test_round_trip(dir);
    test_bad_files();
    test_rule();
    test_update();
    return test_finish("test_labels");
}
