/* prep's reading side: one file at a time inflated, parsed, simplified and encoded into chunks of records, with
 * everything prep will need to decide about each record in order (its class word, key_id, recognised flag, or
 * why it is bad). Nothing here depends on what other files held, so files can be read on any thread. */
#include <stdlib.h>
#include <string.h>

#include "data/dset_layout.h"
#include "data/prep_internal.h"
#include "doodle/render.h"
#include "doodle/simplify.h"
#include "doodle/alloc.h"

#define STOP_CHECK_EVERY 32 /* records between looks at the writer's stop flag */

prep_chunk *prep_chunk_new(uint32_t max_items, dd_error *err) {
    prep_chunk *c = dd_calloc(1, sizeof *c, err);
    if (!c) return NULL;
    c->items = dd_malloc(max_items, sizeof *c->items, err);
    c->data = c->items ? dd_malloc(PREP_CHUNK_DATA, 1, err) : NULL;
    if (!c->data) {
        prep_chunk_free(c);
        return NULL;
    }
    c->max_items = max_items;
    c->cap_data = PREP_CHUNK_DATA;
    return c;
}

void prep_chunk_free(prep_chunk *c) {
    if (!c) return;
    free(c->items);
    free(c->data);
    free(c);
}

static bool chunk_full(const prep_chunk *c) { return c->n_items >= c->max_items || c->n_data >= PREP_CHUNK_DATA; }

/* Room for size more payload bytes (a chunk may pass PREP_CHUNK_DATA by one record). */
static uint8_t *chunk_reserve(prep_chunk *c, size_t size, dd_error *err) {
    if (c->n_data + size > c->cap_data) {
        size_t cap = c->n_data + size > 2 * c->cap_data ? c->n_data + size : 2 * c->cap_data;
        uint8_t *d = dd_realloc(c->data, cap, 1, err);
        if (!d) return NULL;
        c->data = d;
        c->cap_data = cap;
    }
    return c->data + c->n_data;
}

/* Appends an item whose payload (size bytes) is already at c->data + c->n_data. */
static void chunk_push(prep_chunk *c, prep_item it) {
    c->items[c->n_items++] = it;
    c->n_data += it.size;
}

/* An error item: its message is the payload. Ends the chunk when even that cannot be stored. */
static void push_error(prep_source *s, prep_chunk *c, prep_item_kind kind, const dd_error *e) {
    size_t n = strlen(e->msg) + 1;
    dd_error nomem;
    uint8_t *p = chunk_reserve(c, n, &nomem);
    if (!p) { /* keep at least the failure: an abort with an empty message would hide it */
        if (c->n_items == c->max_items) c->n_items--;
        c->items[c->n_items++] = (prep_item){.kind = PREP_ABORT, .code = DD_ERR_NOMEM, .size = 0};
        c->last = true;
        s->done = true;
        return;
    }
    memcpy(p, e->msg, n);
    chunk_push(c, (prep_item){.kind = (uint8_t)kind, .code = (uint8_t)e->code, .size = (uint32_t)n});
}

static void abort_file(prep_source *s, prep_chunk *c, const dd_error *e) {
    push_error(s, c, PREP_ABORT, e);
    c->last = true;
    s->done = true;
}

void prep_source_init(prep_source *s, const prep_read_cfg *cfg) {
    memset(s, 0, sizeof *s);
    s->cfg = cfg;
    dd_drawing_init(&s->drawing);
    dd_drawing_init(&s->simplified);
}

void prep_source_free(prep_source *s) {
    prep_source_end(s);
    dd_drawing_free(&s->drawing);
    dd_drawing_free(&s->simplified);
    data_gz_buffers_free(&s->gz_buffers);
}

static bool named_class(const dd_prep_opts *o, const char *name) {
    for (size_t i = 0; i < o->n_classes; i++)
        if (!strcmp(o->classes[i], name)) return true;
    return false;
}

void prep_source_start(prep_source *s, size_t file) {
    prep_source_end(s);
    s->file = file;
    s->open = true;
    s->done = s->pending = false;
    s->first = true;
    const char *path = s->cfg->paths[file];
    s->npy = dd_format_from_path(path) == DD_FORMAT_NPY;
    dd_error e;
    /* prep itself reports a bad name, before it reads any record */
    if (dd_class_from_path(path, s->file_class, &e)) s->done = true;
    const dd_prep_opts *o = s->cfg->o;
    s->other_class = o->classes && o->n_classes && !named_class(o, s->file_class);
    if (s->npy && s->other_class) s->done = true; /* a .npy's class is its name: prep skips the whole file */
}

void prep_source_end(prep_source *s) {
    if (s->reader) dd_stroke_reader_close(s->reader);
    s->reader = NULL;
    if (s->open && s->npy && s->npy_stream.path) data_npy_stream_close(&s->npy_stream);
    s->open = false;
}

/* Index of word among c's words; -1 when the table is full. */
static int word_index(prep_chunk *c, const char *word) {
    for (uint32_t i = 0; i < c->n_words; i++)
        if (!strcmp(c->words[i], word)) return (int)i;
    if (c->n_words == PREP_CHUNK_WORDS) return -1;
    snprintf(c->words[c->n_words], DD_WORD_MAX, "%s", word);
    return (int)c->n_words++;
}

/* s->drawing (read and valid) into c. Returns false when c has no room for its word (the drawing stays pending). */
static bool put_drawing(prep_source *s, prep_chunk *c) {
    const dd_prep_opts *o = s->cfg->o;
    dd_drawing *d = &s->drawing;
    int word = word_index(c, d->word[0] ? d->word : s->file_class);
    if (word < 0) return false;
    prep_item it = {.kind = PREP_DRAWING, .word = (uint8_t)word, .recognized = d->recognized, .key_id = d->key_id};
    if (o->recognized_only && d->recognized == 0) { /* dropped before anything else is looked at */
        it.kind = PREP_NO_PAYLOAD;
        chunk_push(c, it);
        return true;
    }
    dd_error e;
    const dd_drawing *keep = dd_simplified_view(d, &s->simplified, &e);
    if (!keep) { /* e.g. a stroke too long to resample */
        if (e.code != DD_ERR_NOMEM) dd_stroke_reader_locate(s->reader, &e);
        push_error(s, c, e.code == DD_ERR_NOMEM ? PREP_FAIL_LATE : PREP_BAD_LATE, &e);
        c->items[c->n_items - 1].word = it.word;
        c->items[c->n_items - 1].recognized = it.recognized;
        c->items[c->n_items - 1].key_id = it.key_id;
        return true;
    }
    size_t size = 0;
    bool drawable = true;
    for (uint32_t k = 0; k < keep->n_strokes && drawable; k++)
        drawable = keep->stroke_end[k] - dd_stroke_begin(keep, k) <= DD_RENDER_MAX_STROKE_POINTS;
    /* dd_simplified_view returns d itself only after checking that it is simplified */
    if (!drawable ||
        data_dset_stroke_record_size(keep, keep == d, &size, &e)) { /* only DD_ERR_RANGE can come from there */
        it.kind = PREP_TOO_LARGE;
        chunk_push(c, it);
        return true;
    }
    uint8_t *p = chunk_reserve(c, size, &e);
    if (!p) {
        abort_file(s, c, &e);
        return true;
    }
    data_dset_put_strokes(p, 0, DD_SPLIT_TRAIN, keep);
    it.size = (uint32_t)size;
    chunk_push(c, it);
    return true;
}

static void fill_strokes(prep_source *s, prep_chunk *c, const atomic_bool *stop) {
    dd_error e;
    if (!s->reader && !(s->reader = dd_stroke_reader_open(s->cfg->paths[s->file], &e))) {
        abort_file(s, c, &e);
        return;
    }
    for (uint32_t n = 0; !chunk_full(c) && !s->done; n++) {
        if (n % STOP_CHECK_EVERY == STOP_CHECK_EVERY - 1 && atomic_load_explicit(stop, memory_order_relaxed)) break;
        if (!s->pending) {
            dd_next next = dd_stroke_reader_next(s->reader, &s->drawing, &e);
            if (next == DD_NEXT_END) {
                s->done = true;
                break;
            }
            if (next == DD_NEXT_BAD || next == DD_NEXT_FATAL) {
                push_error(s, c, next == DD_NEXT_BAD ? PREP_BAD : PREP_FATAL, &e);
                if (next == DD_NEXT_FATAL) s->done = true;
                continue;
            }
        }
        s->pending = !put_drawing(s, c);
        if (s->pending) break;
        /* --classes names neither the file nor its first drawing's class: prep skips the rest of the file */
        if (s->first && s->other_class && !named_class(s->cfg->o, s->drawing.word[0] ? s->drawing.word : s->file_class))
            s->done = true;
        s->first = false;
    }
}

static void fill_npy(prep_source *s, prep_chunk *c) {
    dd_error e;
    if (!s->npy_stream.path) {
        if (data_npy_stream_open(&s->npy_stream, s->cfg->paths[s->file], &e)) {
            abort_file(s, c, &e);
            return;
        }
        uint8_t *p = chunk_reserve(c, 8, &e);
        if (!p) {
            abort_file(s, c, &e);
            return;
        }
        memcpy(p, &s->npy_stream.height, 4);
        memcpy(p + 4, &s->npy_stream.width, 4);
        chunk_push(c, (prep_item){.kind = PREP_NPY_SIZE, .size = 8});
    }
    size_t pixels = (size_t)s->npy_stream.height * s->npy_stream.width, rec = BITMAP_REC_FIXED + pixels;
    uint64_t room = c->max_items - c->n_items, by_bytes = PREP_CHUNK_DATA / rec + 1;
    uint64_t want = room < by_bytes ? room : by_bytes;
    uint8_t *px = dd_malloc(want ? want : 1, pixels, &e);
    if (!px) {
        abort_file(s, c, &e);
        return;
    }
    int64_t got = data_npy_stream_read(&s->npy_stream, px, want, &e);
    if (got < 0) {
        abort_file(s, c, &e);
    } else if (got == 0) {
        s->done = true;
    } else {
        uint8_t *p = chunk_reserve(c, (size_t)got * rec, &e);
        if (!p) {
            abort_file(s, c, &e);
        } else {
            for (int64_t i = 0; i < got; i++) {
                uint64_t row = s->npy_stream.done - (uint64_t)got + (uint64_t)i;
                data_dset_put_bitmap(c->data + c->n_data, 0, DD_SPLIT_TRAIN, row, px + (size_t)i * pixels, pixels);
                chunk_push(c,
                           (prep_item){.kind = PREP_DRAWING, .recognized = -1, .key_id = row, .size = (uint32_t)rec});
            }
        }
    }
    free(px);
}

void prep_source_fill(prep_source *s, prep_chunk *c, const atomic_bool *stop) {
    c->next = NULL;
    c->file = s->file;
    c->last = false;
    c->n_items = 0;
    c->n_data = 0;
    c->n_words = 0;
    if (!s->done && !atomic_load_explicit(stop, memory_order_relaxed)) {
        /* a file opened here borrows this source's buffers (whichever thread fills it) */
        data_gz_buffers *before = data_gz_use_buffers(&s->gz_buffers);
        if (s->npy)
            fill_npy(s, c);
        else
            fill_strokes(s, c, stop);
        data_gz_use_buffers(before);
    }
    if (s->done || atomic_load_explicit(stop, memory_order_relaxed)) {
        c->last = true;
        prep_source_end(s);
        s->done = true;
    }
}
