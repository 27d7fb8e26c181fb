/* Metrics on hand-made predictions whose confusion matrix, loss, top-k, precision, recall and F1 are worked out
 * by hand, plus the CSV and JSON forms. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/metrics.h"
#include "testutil.h"

#define NEAR(a, b) (fabs((a) - (b)) < 1e-12)

/* Logits that predict p: 2 for p, 0 for the others. */
static void one_hot(float *logits, int p) {
    for (int k = 0; k < 3; k++) logits[k] = k == p ? 2.0f : 0.0f;
}

/* (true, predicted) pairs giving the confusion matrix
 *        a  b  c
 *   a  [ 3  1  0 ]
 *   b  [ 1  2  1 ]
 *   c  [ 1  0  1 ]   */
static const int pairs[10][2] = {{0, 0}, {0, 0}, {0, 0}, {0, 1}, {1, 1}, {1, 1}, {1, 0}, {1, 2}, {2, 2}, {2, 0}};

static void fill(dd_metrics *m) {
    for (int i = 0; i < 10; i++) {
        float logits[3], conf = 0;
        one_hot(logits, pairs[i][1]);
        int pred = dd_metrics_add(m, pairs[i][0], logits, &conf);
        CHECK(pred == pairs[i][1]);
        CHECK(fabsf(conf - (float)(exp(2.0) / (exp(2.0) + 2))) < 1e-6f, "confidence %g", conf);
    }
}

static void test_hand_made(void) {
    dd_error err;
    dd_metrics m;
    CHECK(dd_metrics_init(&m, 3, 2, &err) == 0);
    fill(&m);
    const uint64_t want[9] = {3, 1, 0, 1, 2, 1, 1, 0, 1};
    for (int i = 0; i < 9; i++)
        CHECK(m.confusion[i] == want[i], "confusion[%d] = %llu", i, (unsigned long long)m.confusion[i]);
    CHECK(m.total == 10 && m.correct == 6);
    CHECK(NEAR(dd_metrics_accuracy(&m), 0.6));
    /* every record's log-sum-exp is L = log(e^2 + 2); the loss is L - 2 when right, L when wrong */
    double L = log(exp(2.0) + 2);
    CHECK(fabs(dd_metrics_loss(&m) - (L - 1.2)) < 1e-9, "loss %.12f, want %.12f", dd_metrics_loss(&m), L - 1.2);
    /* top-2 with ties broken by index: true b predicted a ([2,0,0], label 1): rank 1, a hit; true b predicted c
     * ([0,0,2]): a ties with b and has the lower index, rank 2, a miss; true a predicted b: rank 1, a hit;
     * true c predicted a ([2,0,0], label 2): b ties with lower index, rank 2, a miss. 6 + 2 hits. */
    CHECK(m.topk_correct == 8 && NEAR(dd_metrics_topk(&m), 0.8), "top-2 hits %llu", (unsigned long long)m.topk_correct);

    dd_class_metrics a = dd_metrics_class(&m, 0), b = dd_metrics_class(&m, 1), c = dd_metrics_class(&m, 2);
    CHECK(a.support == 4 && a.predicted == 5 && b.support == 4 && b.predicted == 3 && c.support == 2 &&
          c.predicted == 2);
    CHECK(NEAR(a.precision, 0.6) && NEAR(a.recall, 0.75) && NEAR(a.f1, 2.0 / 3.0), "a: %g %g %g", a.precision, a.recall,
          a.f1);
    CHECK(NEAR(b.precision, 2.0 / 3.0) && NEAR(b.recall, 0.5) && NEAR(b.f1, 4.0 / 7.0), "b: %g %g %g", b.precision,
          b.recall, b.f1);
    CHECK(NEAR(c.precision, 0.5) && NEAR(c.recall, 0.5) && NEAR(c.f1, 0.5));
    dd_class_metrics mac = dd_metrics_macro(&m), wtd = dd_metrics_weighted(&m);
    CHECK(NEAR(mac.precision, (0.6 + 2.0 / 3.0 + 0.5) / 3) && NEAR(mac.recall, (0.75 + 0.5 + 0.5) / 3) &&
          NEAR(mac.f1, (2.0 / 3.0 + 4.0 / 7.0 + 0.5) / 3));
    CHECK(NEAR(wtd.recall, 0.6)); /* weighted recall is the accuracy */
    CHECK(NEAR(wtd.precision, (4 * 0.6 + 4 * 2.0 / 3.0 + 2 * 0.5) / 10) &&
          NEAR(wtd.f1, (4 * 2.0 / 3.0 + 4 * 4.0 / 7.0 + 2 * 0.5) / 10));

    /* JSON */
    const char *names[] = {"a", "b, with comma", "c"};
    cJSON *j = dd_metrics_json(&m, names, &err);
    CHECK(j != NULL);
    if (j) {
        CHECK(NEAR(cJSON_GetObjectItem(j, "accuracy")->valuedouble, 0.6));
        CHECK(NEAR(cJSON_GetObjectItem(j, "top2")->valuedouble, 0.8));
        CHECK(cJSON_GetObjectItem(j, "records")->valuedouble == 10);
        cJSON *conf = cJSON_GetObjectItem(j, "confusion");
        CHECK(cJSON_GetArraySize(conf) == 3 && cJSON_GetArrayItem(cJSON_GetArrayItem(conf, 1), 2)->valuedouble == 1);
        cJSON *pc = cJSON_GetObjectItem(j, "per_class");
        CHECK(cJSON_GetArraySize(pc) == 3);
        cJSON *pb = cJSON_GetArrayItem(pc, 1);
        CHECK(!strcmp(cJSON_GetObjectItem(pb, "class")->valuestring, "b, with comma"));
        CHECK(NEAR(cJSON_GetObjectItem(pb, "f1")->valuedouble, 4.0 / 7.0));
        CHECK(NEAR(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "macro_avg"), "recall")->valuedouble,
                   (0.75 + 0.5 + 0.5) / 3));
        CHECK(!strcmp(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "classes"), 2)->valuestring, "c"));
        cJSON_Delete(j);
    }

    /* CSV, with a quoted class name */
    char path[4200];
    snprintf(path, sizeof path, "%s/confusion.csv", test_tmp_dir("test_metrics"));
    CHECK(dd_metrics_write_confusion_csv(&m, names, path, &err) == 0, "%s", err.msg);
    FILE *f = fopen(path, "r");
    char text[512] = {0};
    if (f) {
        size_t n = fread(text, 1, sizeof text - 1, f);
        text[n] = '\0';
        fclose(f);
    }
    CHECK(!strcmp(text, "true/predicted,a,\"b, with comma\",c\na,3,1,0\n\"b, with comma\",1,2,1\nc,1,0,1\n"), "%s",
          text);

    /* tables print without trouble */
    FILE *devnull = fopen("/dev/null", "w");
    if (devnull) {
        dd_metrics_print_confusion(&m, names, devnull);
        dd_metrics_print_classes(&m, names, devnull);
        fclose(devnull);
    }
    dd_metrics_free(&m);

    /* top-1 is the accuracy */
    CHECK(dd_metrics_init(&m, 3, 1, &err) == 0);
    fill(&m);
    CHECK(m.topk_correct == m.correct);
    dd_metrics_free(&m);
}

static void test_edges(void) {
    dd_error err;
    dd_metrics m;
    CHECK(dd_metrics_init(&m, 0, 3, &err) == -1 && err.code == DD_ERR_USAGE);
    CHECK(dd_metrics_init(&m, 3, 0, &err) == -1);
    CHECK(dd_metrics_init(&m, 4, 3, &err) == 0);
    CHECK(dd_metrics_accuracy(&m) == 0 && dd_metrics_loss(&m) == 0 && dd_metrics_topk(&m) == 0);
    /* equal logits: class 0 is predicted, the loss is log 4, a label of index < 3 is in the top 3 */
    float flat[4] = {0, 0, 0, 0}, conf;
    CHECK(dd_metrics_add(&m, 2, flat, &conf) == 0);
    CHECK(fabs(dd_metrics_loss(&m) - log(4.0)) < 1e-12 && fabsf(conf - 0.25f) < 1e-7f);
    CHECK(m.topk_correct == 1);
    CHECK(dd_metrics_add(&m, 3, flat, NULL) == 0 && m.topk_correct == 1);
    /* huge logits do not overflow */
    float big[4] = {1e30f, -1e30f, 0, 0};
    CHECK(dd_metrics_add(&m, 0, big, &conf) == 0 && conf == 1.0f && isfinite(dd_metrics_loss(&m)));
    /* a class never predicted and never present has precision, recall and F1 0 */
    dd_class_metrics r = dd_metrics_class(&m, 1);
    CHECK(r.precision == 0 && r.recall == 0 && r.f1 == 0 && r.support == 0 && r.predicted == 0);
    /* the class predicted every time but right once: precision 1/3, recall 1 for class 0 */
    r = dd_metrics_class(&m, 0);
    CHECK(NEAR(r.precision, 1.0 / 3.0) && r.recall == 1.0 && r.predicted == 3 && r.support == 1);
    dd_metrics_free(&m);
    dd_metrics_free(&m); /* twice is harmless */
}

int main(void) {
    test_hand_made();
    test_edges();
    return test_finish("test_metrics");
}
