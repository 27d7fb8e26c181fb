/* The BatchNorm settings in model files (src/nn/model_io.c): written in the metadata ("batchnorm": {"<layer>":
 * {"epsilon", "momentum"}}, what scripts/to_torch.py reads), read back and used; files written before they were
 * stored (tests/data/doodle_seed.safetensors) load with the cfg's; values out of range are refused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "doodle/model.h"
#include "testutil.h"

#ifndef DOODLE_TEST_DATA
#define DOODLE_TEST_DATA "tests/data"
#endif

static const char cfg[] = "[net]\ninput = 28x28x1\nclasses = 3\n"
                          "[conv2d]\nfilters = 4\nkernel = 3\n"
                          "[batchnorm]\nepsilon = 0.01\nmomentum = 0.9\n"
                          "[activation]\ntype = relu\n"
                          "[conv2d]\nfilters = 4\nkernel = 3\n"
                          "[batchnorm]\nname = second\n"
                          "[flatten]\n[dense]\nunits = classes\n";

int main(void) {
    const char *tmp = test_tmp_dir("test_model_batchnorm");
    dd_error err;
    char path[4200];
    snprintf(path, sizeof path, "%s/bn.safetensors", tmp);
    dd_model_spec *spec = dd_model_spec_parse(cfg, strlen(cfg), "bn.cfg", NULL, NULL, &err);
    dd_model *m = spec ? dd_model_new(spec, 1, &err) : NULL;
    CHECK(m, "%s", err.msg);
    if (!m) return test_finish("test_model_batchnorm");
    /* the second layer's epsilon changed after the cfg was read: the file's metadata, not the cfg, must carry it */
    m->spec->layers[4].u.bn.epsilon = 0.25f;
    CHECK(dd_model_save(m, path, &err) == 0, "%s", err.msg);
    dd_model_free(m);

    dd_st_file *f = dd_st_open(path, &err);
    CHECK(f, "%s", err.msg);
    const char *text = f ? dd_st_metadata(f, "batchnorm") : NULL;
    CHECK(text, "no batchnorm metadata");
    cJSON *o = cJSON_Parse(text ? text : "");
    const cJSON *first = cJSON_GetObjectItemCaseSensitive(o, "batch_normalization");
    const cJSON *second = cJSON_GetObjectItemCaseSensitive(o, "second");
    CHECK(cJSON_GetArraySize(o) == 2 && first && second, "%s", text);
    CHECK(fabs(cJSON_GetObjectItem(first, "epsilon")->valuedouble - 0.01) < 1e-8 &&
              fabs(cJSON_GetObjectItem(first, "momentum")->valuedouble - 0.9) < 1e-7,
          "%s", text);
    CHECK(cJSON_GetObjectItem(second, "epsilon")->valuedouble == 0.25 &&
              fabs(cJSON_GetObjectItem(second, "momentum")->valuedouble - 0.99) < 1e-7,
          "%s", text);
    cJSON_Delete(o);
    dd_st_close(f);

    m = dd_model_load(path, &err);
    CHECK(m, "%s", err.msg);
    if (m) {
        CHECK(m->spec->layers[1].u.bn.epsilon == 0.01f && m->spec->layers[1].u.bn.momentum == 0.9f);
        CHECK(m->spec->layers[4].u.bn.epsilon == 0.25f && m->spec->layers[4].u.bn.momentum == 0.99f,
              "second: epsilon %g momentum %g", m->spec->layers[4].u.bn.epsilon, m->spec->layers[4].u.bn.momentum);
        dd_model_free(m);
    }

    /* a file written before the settings were stored: the cfg's (the seed network's defaults) */
    f = dd_st_open(DOODLE_TEST_DATA "/doodle_seed.safetensors", &err);
    CHECK(f && !dd_st_metadata(f, "batchnorm"), "doodle_seed.safetensors should be an old file without them");
    dd_st_close(f);
    m = dd_model_load(DOODLE_TEST_DATA "/doodle_seed.safetensors", &err);
    CHECK(m, "%s", err.msg);
    int seen = 0;
    for (int i = 0; m && i < m->spec->n_layers; i++)
        if (m->spec->layers[i].kind == DD_LAYER_BATCHNORM) {
            CHECK(m->spec->layers[i].u.bn.epsilon == 0.001f && m->spec->layers[i].u.bn.momentum == 0.99f);
            seen++;
        }
    CHECK(seen >= 2, "%d batchnorm layers in the seed network", seen);
    dd_model_free(m);

    /* the same bytes with an epsilon out of range, and with an entry for a layer that is no batchnorm (conv2d) */
    size_t n;
    char *bytes = test_read_file(path, &n);
    static const char *const from[2] = {"\\\"epsilon\\\":0.25", "\\\"second\\\""};
    static const char *const to[2] = {"\\\"epsilon\\\":2.25", "\\\"conv2d\\\""};
    for (int k = 0; bytes && k < 2; k++) {
        char *copy = malloc(n + 1);
        memcpy(copy, bytes, n + 1);
        char *at = n > 8 ? strstr(copy + 8, from[k]) : NULL; /* the header JSON follows its 8-byte length */
        CHECK(at && strlen(from[k]) == strlen(to[k]), "%s not in the header", from[k]);
        if (at) {
            memcpy(at, to[k], strlen(to[k])); /* the same length: the header's size stays right */
            char bad[4200];
            snprintf(bad, sizeof bad, "%s/bad%d.safetensors", tmp, k);
            test_write_file(bad, copy, n);
            m = dd_model_load(bad, &err);
            CHECK(!m && err.code == DD_ERR_MALFORMED && strstr(err.msg, bad) && strstr(err.msg, "batchnorm"),
                  "bad batchnorm metadata %d: %s", k, m ? "loaded" : err.msg);
            dd_model_free(m);
        }
        free(copy);
    }
    free(bytes);
    return test_finish("test_model_batchnorm");
}
