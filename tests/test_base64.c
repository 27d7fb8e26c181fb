/* The one base64 encoder (src/util/base64.c): RFC 4648's test vectors (section 10), so every padding case, and
 * bytes above 127 (a PNG's signature). */
#include <string.h>

#include "testutil.h"
#include "util/base64.h"

int main(void) {
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    char out[64];
    for (int i = 0; i < 7; i++) {
        size_t n = strlen(plain[i]);
        memset(out, '#', sizeof out);
        util_base64_encode((const unsigned char *)plain[i], n, out);
        CHECK(util_base64_length(n) == strlen(coded[i]) && !strcmp(out, coded[i]), "'%s' -> '%s'", plain[i], out);
    }
    const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0xff, 0xfe};
    util_base64_encode(png, sizeof png, out);
    CHECK(!strcmp(out, "iVBORw0KGgr//g=="), "%s", out);
    return test_finish("test_base64");
}
