/* Reader threads for prep. Each claims the next input file (in order), reads it into chunks and queues them on
 * that file's slot; the writer takes file 0's chunks, then file 1's, … so it sees exactly the sequence one thread
 * would. A reader queues at most MAX_CHUNKS_PER_READER chunks holding at most READER_QUEUED_BYTES of records
 * (allocated as needed), then waits, so memory in flight is bounded whatever the file sizes. The bound is wide
 * enough for a reader to read a whole file of 30,000 simplified drawings while the writer takes the file before it:
 * with 4 chunks, the readers of later files stopped after 8,192 drawings and the second core mostly waited. This
 * cannot deadlock: a reader's queued chunks all belong to the files it took, and the writer has finished every
 * file before the one it waits for, so the reader of that file holds none elsewhere. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "data/prep_internal.h"
#include "doodle/alloc.h"

#define FIRST_CHUNKS_PER_READER 4
#define MAX_CHUNKS_PER_READER 32
#define READER_QUEUED_BYTES ((size_t)8 << 20)

typedef struct slot {
    prep_chunk *head, *tail; /* queued, in file order */
    atomic_bool stop;
} slot;

typedef struct reader {
    prep_pipe *pipe;
    int id;
    pthread_t thread;
    bool started;
    prep_chunk *free_list;
    int n_chunks, max_chunks; /* allocated; max_chunks drops to n_chunks when an allocation fails */
    size_t queued_bytes;      /* payload of its chunks queued and not yet released by the writer */
    prep_source src;
} reader;

struct prep_pipe {
    const prep_read_cfg *cfg;
    int n_threads; /* 0: chunks are read in prep_pipe_next, on the caller's thread */
    slot *slots;   /* [n_files] */
    reader *readers;
    pthread_mutex_t mu;
    pthread_cond_t chunk_ready, chunk_free;
    size_t next_file;
    bool closing;
    prep_chunk *inline_chunk; /* n_threads == 0 */
};

static void *reader_main(void *arg) {
    reader *r = arg;
    prep_pipe *p = r->pipe;
    pthread_mutex_lock(&p->mu);
    while (!p->closing && p->next_file < p->cfg->n_files) {
        size_t file = p->next_file++;
        pthread_mutex_unlock(&p->mu);
        prep_source_start(&r->src, file);
        bool last = false;
        pthread_mutex_lock(&p->mu);
        while (!last) {
            while (!p->closing &&
                   (r->queued_bytes >= READER_QUEUED_BYTES || (!r->free_list && r->n_chunks >= r->max_chunks)))
                pthread_cond_wait(&p->chunk_free, &p->mu);
            if (p->closing) break;
            prep_chunk *c = r->free_list;
            if (c) r->free_list = c->next;
            pthread_mutex_unlock(&p->mu);
            if (!c) { /* one more chunk: failing that, wait for those there are */
                dd_error ignored;
                c = prep_chunk_new(p->cfg->chunk_items, &ignored);
                pthread_mutex_lock(&p->mu);
                if (!c) {
                    r->max_chunks = r->n_chunks;
                    continue;
                }
                c->owner = r->id;
                r->n_chunks++;
                pthread_mutex_unlock(&p->mu);
            }
            prep_source_fill(&r->src, c, &p->slots[file].stop);
            last = c->last;
            pthread_mutex_lock(&p->mu);
            slot *s = &p->slots[file];
            r->queued_bytes += c->n_data;
            if (s->tail)
                s->tail->next = c;
            else
                s->head = c;
            s->tail = c;
            pthread_cond_broadcast(&p->chunk_ready);
        }
    }
    pthread_mutex_unlock(&p->mu);
    prep_source_end(&r->src);
    return NULL;
}

prep_pipe *prep_pipe_start(const prep_read_cfg *cfg, int n_threads, dd_error *err) {
    prep_pipe *p = dd_calloc(1, sizeof *p, err);
    if (!p) return NULL;
    p->cfg = cfg;
    p->n_threads = n_threads < 0 ? 0 : n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->chunk_ready, NULL);
    pthread_cond_init(&p->chunk_free, NULL);
    if (!(p->slots = dd_calloc(cfg->n_files ? cfg->n_files : 1, sizeof *p->slots, err))) goto fail;
    for (size_t i = 0; i < cfg->n_files; i++) atomic_init(&p->slots[i].stop, false);
    if (p->n_threads == 0) {
        if (!(p->inline_chunk = prep_chunk_new(cfg->chunk_items, err))) goto fail;
        if (!(p->readers = dd_calloc(1, sizeof *p->readers, err))) goto fail;
        prep_source_init(&p->readers[0].src, cfg);
        p->readers[0].src.done = true; /* no file yet */
        return p;
    }
    if (!(p->readers = dd_calloc((size_t)p->n_threads, sizeof *p->readers, err))) goto fail;
    for (int t = 0; t < p->n_threads; t++) {
        reader *r = &p->readers[t];
        r->pipe = p;
        r->id = t;
        prep_source_init(&r->src, cfg);
        r->max_chunks = MAX_CHUNKS_PER_READER;
        for (int k = 0; k < FIRST_CHUNKS_PER_READER; k++, r->n_chunks++) {
            prep_chunk *c = prep_chunk_new(cfg->chunk_items, err);
            if (!c) goto fail;
            c->owner = t;
            c->next = r->free_list;
            r->free_list = c;
        }
    }
    for (int t = 0; t < p->n_threads; t++) {
        int e = pthread_create(&p->readers[t].thread, NULL, reader_main, &p->readers[t]);
        if (e) {
            dd_fail(err, DD_ERR_NOMEM, "cannot start a reader thread: %s", strerror(e));
            goto fail;
        }
        p->readers[t].started = true;
    }
    return p;
fail:
    prep_pipe_close(p);
    return NULL;
}

prep_chunk *prep_pipe_next(prep_pipe *p, size_t file, dd_error *err) {
    (void)err;
    if (p->n_threads == 0) {
        prep_source *src = &p->readers[0].src;
        if (!src->open || src->file != file) prep_source_start(src, file);
        prep_source_fill(src, p->inline_chunk, &p->slots[file].stop);
        return p->inline_chunk;
    }
    pthread_mutex_lock(&p->mu);
    slot *s = &p->slots[file];
    while (!s->head) pthread_cond_wait(&p->chunk_ready, &p->mu);
    prep_chunk *c = s->head;
    s->head = c->next;
    if (!s->head) s->tail = NULL;
    pthread_mutex_unlock(&p->mu);
    return c;
}

void prep_pipe_release(prep_pipe *p, prep_chunk *c) {
    if (p->n_threads == 0) return;
    pthread_mutex_lock(&p->mu);
    reader *r = &p->readers[c->owner];
    r->queued_bytes -= c->n_data;
    c->next = r->free_list;
    r->free_list = c;
    pthread_cond_broadcast(&p->chunk_free);
    pthread_mutex_unlock(&p->mu);
}

void prep_pipe_stop_file(prep_pipe *p, size_t file) { atomic_store(&p->slots[file].stop, true); }

static void free_list(prep_chunk *c) {
    while (c) {
        prep_chunk *next = c->next;
        prep_chunk_free(c);
        c = next;
    }
}

void prep_pipe_close(prep_pipe *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->closing = true;
    pthread_cond_broadcast(&p->chunk_free);
    pthread_mutex_unlock(&p->mu);
    int n_readers = p->n_threads ? p->n_threads : 1;
    for (int t = 0; p->readers && t < n_readers; t++) {
        if (p->readers[t].started) pthread_join(p->readers[t].thread, NULL);
        prep_source_free(&p->readers[t].src);
        free_list(p->readers[t].free_list);
    }
    for (size_t i = 0; p->slots && i < p->cfg->n_files; i++) free_list(p->slots[i].head);
    prep_chunk_free(p->inline_chunk);
    free(p->readers);
    free(p->slots);
    pthread_cond_destroy(&p->chunk_free);
    pthread_cond_destroy(&p->chunk_ready);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
