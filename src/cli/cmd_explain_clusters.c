/* doodle explain clusters: the drawings of a set (misclassified test drawings by default) clustered as the study
 * did (pixels) or in the model's own space (a layer's activations): drop the all-zero columns -> PCA -> K-Means
 * and DBSCAN; montages, composition tables, scatter plots, a t-SNE map, silhouettes, purity and the units that set
 * each cluster apart; with --compare, what a second model changed (include/doodle/cluster.h). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/explain_verbs.h"
#include "doodle/cluster.h"
#include "doodle/labels.h"

#define VERB "explain clusters"
#define PAIRS_PRINTED 8 /* per cluster; the rest is in composition.csv */

static void usage(FILE *out) {
    fprintf(out,
            "usage: doodle explain clusters --model M --data D.dset -o OUTDIR [options]\n"
            "\n"
            "Clusters drawings by their pixels, as the model sees them (--space pixels, the study's way), or by\n"
            "the activations of one of the model's layers (--space embedding): drop the all-zero columns, PCA,\n"
            "then K-Means (k-means++, restarts; k given or chosen by the best mean silhouette) and DBSCAN (eps\n"
            "given or from the knee of the k-distance curve). Prints and saves per cluster what it holds\n"
            "(true -> predicted counts), how pure the clusters are in (true, predicted) pairs (and the same for\n"
            "random clusters of the same sizes), a t-SNE map drawn with the drawings, and the units of the layer\n"
            "that set each cluster apart from the right drawings of the same classes. Clusters named in doodle\n"
            "serve's Mistakes view (labels.json beside the model) are shown with their names.\n"
            "\n"
            "  -m, --model FILE       the model (.safetensors written by doodle train)\n"
            "  -d, --data FILE        the dataset (.dset)\n"
            "  -o, --output DIR       where the pictures and tables go (created if missing)\n"
            "      --set S            misclassified (default: test drawings the model gets wrong),\n"
            "                         val-misclassified (validation drawings it gets wrong), test, train,\n"
            "                         class=NAME (test drawings of that class), predicted=NAME (test drawings\n"
            "                         predicted as NAME)\n"
            "      --space S          pixels (default) or embedding\n"
            "  -l, --layer L          the embedding's layer, index or name as `doodle summary` lists them\n"
            "                         (default: the input of the last dense layer); also the units' layer\n"
            "      --standardize      scale every column to unit variance before PCA\n"
            "      --components N     PCA components (default: as many as --variance needs)\n"
            "      --variance F       explained variance to keep, 0-1 (default 0.9)\n"
            "  -k, --k N              K-Means clusters (default: chosen by silhouette in --k-min..--k-max)\n"
            "      --k-min N, --k-max N  the range tried (default 2..8)\n"
            "      --restarts N       k-means++ restarts per k (default 10)\n"
            "      --eps F            DBSCAN radius in PCA space (default: the k-distance knee)\n"
            "      --min-samples N    DBSCAN core size, the point itself included (default 5)\n"
            "      --seed N           seed of k-means++ and of sampling (default 1)\n"
            "      --montage N        drawings per cluster montage (default 100)\n"
            "      --max-drawings N   a larger set is sampled down to N drawings (default 20000; 0 = all)\n"
            "      --tsne N           t-SNE map of at most N drawings, a seeded sample (default 3000; 0 = none)\n"
            "      --perplexity F     of the t-SNE map (default 30)\n"
            "      --units N          units listed per K-Means cluster (default 5; 0 = none)\n"
            "      --save-points      also write points.csv, the PCA scores clustered\n"
            "      --compare M2       a second model on the same drawings: which clusters of mistakes it removed\n"
            "                         and which are new (compare.csv, compare-*.png, M2's clusters in compare/)\n"
            "      --threads N        threads (default: every core, up to 8)\n"
            "  -q, --quiet            print only the summary, not the composition tables\n"
            "  -h, --help             show this help\n"
            "\n"
            "Writes into OUTDIR: summary.json; unless the set is empty also labels.csv (index,key_id,true,\n"
            "predicted,kmeans,dbscan,pc1,pc2,tsne1,tsne2), composition.csv (method,cluster,true,predicted,count),\n"
            "kmeans-<c>.png and dbscan-<c>.png / dbscan-noise.png (the drawings, most typical first),\n"
            "scatter-kmeans.png and scatter-dbscan.png (PC1 x PC2 coloured by cluster), tsne.png, units.csv\n"
            "(method,cluster,rank,layer,unit,score,mean_cluster,mean_correct,compared) and units-kmeans-<c>.png.\n"
            "Exit status: 0 done (also for an empty set), 1 bad input or failure, 2 bad usage.\n"
            "\n"
            "Examples:\n"
            "  doodle explain clusters -m run/model.safetensors -d animals.dset -o clusters   the study's way\n"
            "  doodle explain clusters -m run/model.safetensors -d animals.dset -o emb --space embedding\n"
            "  doodle explain clusters -m run/model.safetensors -d animals.dset -o cats --set class=cat -k 4\n"
            "  doodle explain clusters -m new/model.safetensors -d animals.dset -o diff --space embedding \\\n"
            "      --compare old/model.safetensors\n");
}

static void print_cluster(const dd_model *m, const char *title, const dd_cluster_info *c, int quiet) {
    if (isnan(c->silhouette))
        printf("%s: %d drawing%s  %s\n", title, c->size, c->size == 1 ? "" : "s", c->montage);
    else
        printf("%s: %d drawing%s, silhouette %.3f  %s\n", title, c->size, c->size == 1 ? "" : "s", c->silhouette,
               c->montage);
    if (quiet) return;
    for (int p = 0; p < c->n_pairs && p < PAIRS_PRINTED; p++)
        printf("    %5d  %s -> %s\n", c->pairs[p].count, m->class_names[c->pairs[p].true_class],
               m->class_names[c->pairs[p].predicted]);
    if (c->n_pairs > PAIRS_PRINTED) printf("    ... %d more pairs in composition.csv\n", c->n_pairs - PAIRS_PRINTED);
}

static void print_report(const dd_model *m, const dd_cluster_report *r, const dd_cluster_names *names, const char *dir,
                         int quiet) {
    if (r->space == DD_SPACE_EMBEDDING)
        printf("%zu drawings in the space of layer %d %s: %zu of %zu units active%s\n", r->n, r->layer, r->layer_name,
               r->kept_columns, r->pixels, r->standardized ? ", standardised" : "");
    else
        printf("%zu drawings, %zu of %zu pixel columns non-zero%s\n", r->n, r->kept_columns, r->pixels,
               r->standardized ? ", standardised" : "");
    printf("PCA: %d components explain %.1f%% of the variance (PC1 %.1f%%", r->components, 100 * r->explained_variance,
           100 * r->variance_ratio[0]);
    if (r->components > 1) printf(", PC2 %.1f%%", 100 * r->variance_ratio[1]);
    printf(")\n");
    if (r->k_tried_max > r->k_tried_min) {
        printf("K-Means: k = %d chosen by silhouette (", r->k);
        for (int k = r->k_tried_min; k <= r->k_tried_max; k++)
            printf("%sk=%d %.3f", k > r->k_tried_min ? ", " : "", k, r->k_silhouettes[k - r->k_tried_min]);
        printf(")\n");
    } else {
        printf("K-Means: k = %d\n", r->k);
    }
    printf("K-Means: inertia %.4g, mean silhouette %.3f\n", r->kmeans_inertia, r->kmeans_silhouette);
    printf("DBSCAN: eps %.4g%s, min_samples %d: %d cluster%s, %d noise", r->eps,
           r->eps_from_knee ? " (k-distance knee)" : "", r->min_samples, r->dbscan_clusters,
           r->dbscan_clusters == 1 ? "" : "s", r->dbscan_noise);
    if (!isnan(r->dbscan_silhouette)) printf(", mean silhouette %.3f", r->dbscan_silhouette);
    printf("\n");
    printf("purity in (true, predicted) pairs: K-Means %.3f (random clusters of the same sizes %.3f)", r->kmeans_purity,
           r->kmeans_purity_random);
    if (!isnan(r->dbscan_purity)) printf(", DBSCAN %.3f (random %.3f)", r->dbscan_purity, r->dbscan_purity_random);
    printf("\n");
    if (r->tsne_n)
        printf("t-SNE: %zu drawings, perplexity %g, KL %.3f after %d iterations, trustworthiness %.3f (%.1f s)\n",
               r->tsne_n, r->tsne_perplexity, r->tsne.kl, r->tsne.iterations, r->tsne_trustworthiness, r->seconds_tsne);
    printf("\n");
    char title[320]; /* a name from labels.json is at most 200 bytes */
    for (int c = 0; c < r->k; c++) {
        if (names->kmeans && names->kmeans[c])
            snprintf(title, sizeof title, "kmeans %d \"%s\"", c, names->kmeans[c]);
        else
            snprintf(title, sizeof title, "kmeans %d", c);
        print_cluster(m, title, &r->kmeans[c], quiet);
        if (quiet || !r->units || r->units[c].n == 0) continue;
        printf("    units of layer %d that set it apart (Cohen's d against right drawings of the same classes):",
               r->layer);
        for (int k = 0; k < r->units[c].n; k++) printf(" %d %+.2f", r->units[c].unit[k], r->units[c].score[k]);
        printf("  %s\n", r->units[c].picture);
    }
    printf("\n");
    for (int c = 0; c <= r->dbscan_clusters; c++) {
        if (c == r->dbscan_clusters && r->dbscan[c].size == 0) continue;
        if (c == r->dbscan_clusters)
            snprintf(title, sizeof title, "dbscan noise");
        else if (names->dbscan && names->dbscan[c])
            snprintf(title, sizeof title, "dbscan %d \"%s\"", c, names->dbscan[c]);
        else
            snprintf(title, sizeof title, "dbscan %d", c);
        print_cluster(m, title, &r->dbscan[c], quiet);
    }
    printf("\nwrote %s/: summary.json, labels.csv, composition.csv, scatter-kmeans.png, scatter-dbscan.png%s%s and the "
           "montages\n",
           dir, r->tsne_n ? ", tsne.png" : "", r->units ? ", units.csv" : "");
}

/* --compare: the second model's mistakes clustered, and what changed between the two, printed. */
static int compare(const dd_model *a, const dd_dataset *ds, const dd_cluster_opts *o, const char *out_dir,
                   const dd_cluster_report *ra, const char *path, int quiet) {
    dd_error err;
    dd_model *b = dd_model_load(path, &err);
    if (!b) return cli_report(VERB, &err);
    dd_cluster_report rb;
    dd_cluster_compare cmp;
    int rc = 0;
    if (dd_explain_clusters_compare(a, b, ds, o, out_dir, ra, &rb, &cmp, &err)) {
        if (err.code == DD_ERR_USAGE) err.code = DD_ERR_RANGE;
        rc = cli_report(VERB, &err);
    } else {
        printf("\ncompared with %s: %zu mistakes, %zu before; %zu drawings now right, %zu newly wrong, %zu wrong in "
               "both\n",
               path, cmp.wrong_b, cmp.wrong_a, cmp.fixed, cmp.broken, cmp.wrong_a - cmp.fixed);
        for (int c = 0; c < ra->k; c++)
            printf("  first model's kmeans %d: %d of %d now right (%.0f%%)\n", c, cmp.removed[c], ra->kmeans[c].size,
                   100.0 * cmp.removed[c] / (ra->kmeans[c].size ? ra->kmeans[c].size : 1));
        for (int c = 0; c < rb.k; c++) {
            printf("  second model's kmeans %d: %d of %d new (%.0f%%)", c, cmp.added[c], rb.kmeans[c].size,
                   100.0 * cmp.added[c] / (rb.kmeans[c].size ? rb.kmeans[c].size : 1));
            if (!quiet && rb.kmeans[c].n_pairs)
                printf(", mostly %s -> %s", b->class_names[rb.kmeans[c].pairs[0].true_class],
                       b->class_names[rb.kmeans[c].pairs[0].predicted]);
            printf("\n");
        }
        printf("wrote %s/: compare.csv, compare-removed.png, compare-new.png, and the second model's clusters in "
               "compare/\n",
               out_dir);
        dd_cluster_compare_free(&cmp);
    }
    dd_cluster_report_free(&rb);
    dd_model_free(b);
    return rc;
}

int cmd_explain_clusters(int argc, char **argv) {
    enum {
        O_SET = 256,
        O_COMPONENTS,
        O_VARIANCE,
        O_KMIN,
        O_KMAX,
        O_RESTARTS,
        O_EPS,
        O_MINS,
        O_SEED,
        O_MONTAGE,
        O_MAX,
        O_SPACE,
        O_STANDARDIZE,
        O_TSNE,
        O_PERPLEXITY,
        O_UNITS,
        O_SAVE_POINTS,
        O_COMPARE,
        O_THREADS
    };
    static const struct option options[] = {
        {"model", required_argument, NULL, 'm'},
        {"data", required_argument, NULL, 'd'},
        {"output", required_argument, NULL, 'o'},
        {"set", required_argument, NULL, O_SET},
        {"components", required_argument, NULL, O_COMPONENTS},
        {"variance", required_argument, NULL, O_VARIANCE},
        {"k", required_argument, NULL, 'k'},
        {"k-min", required_argument, NULL, O_KMIN},
        {"k-max", required_argument, NULL, O_KMAX},
        {"restarts", required_argument, NULL, O_RESTARTS},
        {"eps", required_argument, NULL, O_EPS},
        {"min-samples", required_argument, NULL, O_MINS},
        {"seed", required_argument, NULL, O_SEED},
        {"montage", required_argument, NULL, O_MONTAGE},
        {"max-drawings", required_argument, NULL, O_MAX},
        {"quiet", no_argument, NULL, 'q'},
        {"space", required_argument, NULL, O_SPACE},
        {"layer", required_argument, NULL, 'l'},
        {"standardize", no_argument, NULL, O_STANDARDIZE},
        {"tsne", required_argument, NULL, O_TSNE},
        {"perplexity", required_argument, NULL, O_PERPLEXITY},
        {"units", required_argument, NULL, O_UNITS},
        {"save-points", no_argument, NULL, O_SAVE_POINTS},
        {"compare", required_argument, NULL, O_COMPARE},
        {"threads", required_argument, NULL, O_THREADS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    dd_cluster_opts o = dd_cluster_opts_default();
    const char *model_path = NULL, *data_path = NULL, *out_dir = NULL, *layer_text = NULL, *compare_path = NULL;
    int quiet = 0, c;
    uint64_t v;
    double f;
    dd_error err;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":m:d:o:k:l:qh", options, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'd': data_path = optarg; break;
        case 'o': out_dir = optarg; break;
        case 'q': quiet = 1; break;
        case 'l': layer_text = optarg; break;
        case O_SPACE:
            if (!strcmp(optarg, "pixels"))
                o.space = DD_SPACE_PIXELS;
            else if (!strcmp(optarg, "embedding"))
                o.space = DD_SPACE_EMBEDDING;
            else
                return cli_usage_error(VERB, "--space '%s': use pixels or embedding", optarg);
            break;
        case O_STANDARDIZE: o.standardize = 1; break;
        case O_SAVE_POINTS: o.save_points = 1; break;
        case O_COMPARE: compare_path = optarg; break;
        case O_THREADS:
            if (cli_opt_threads(VERB, optarg)) return EXIT_USAGE;
            break;
        case O_TSNE:
            if (cli_opt_u64(VERB, "--tsne", optarg, 0, 20000, &v)) return EXIT_USAGE;
            o.tsne_max = (size_t)v;
            break;
        case O_PERPLEXITY:
            if (cli_opt_double(VERB, "--perplexity", optarg, 1, 1000, &f)) return EXIT_USAGE;
            o.perplexity = f;
            break;
        case O_UNITS:
            if (cli_opt_u64(VERB, "--units", optarg, 0, 100, &v)) return EXIT_USAGE;
            o.top_units = (int)v;
            break;
        case 'h': usage(stdout); return 0;
        case O_SET:
            if (dd_cluster_parse_set(optarg, &o, &err)) return cli_usage_error(VERB, "%s", err.msg);
            break;
        case O_COMPONENTS:
            if (cli_opt_u64(VERB, "--components", optarg, 1, 100000, &v)) return EXIT_USAGE;
            o.components = (int)v;
            break;
        case O_VARIANCE:
            if (cli_parse_double(optarg, 1e-9, 1, &f))
                return cli_opt_bad(VERB, "--variance", "a number in (0, 1]", optarg);
            o.variance_threshold = f;
            break;
        case 'k':
            if (cli_opt_u64(VERB, "--k", optarg, 1, 1000, &v)) return EXIT_USAGE;
            o.k = (int)v;
            break;
        case O_KMIN:
        case O_KMAX:
            if (cli_opt_u64(VERB, c == O_KMIN ? "--k-min" : "--k-max", optarg, 2, 1000, &v)) return EXIT_USAGE;
            *(c == O_KMIN ? &o.k_min : &o.k_max) = (int)v;
            break;
        case O_RESTARTS:
            if (cli_opt_u64(VERB, "--restarts", optarg, 1, 1000, &v)) return EXIT_USAGE;
            o.restarts = (int)v;
            break;
        case O_EPS:
            if (cli_parse_double(optarg, 1e-12, 1e12, &f))
                return cli_opt_bad(VERB, "--eps", "a positive number", optarg);
            o.eps = f;
            break;
        case O_MINS:
            if (cli_opt_u64(VERB, "--min-samples", optarg, 1, 100000, &v)) return EXIT_USAGE;
            o.min_samples = (int)v;
            break;
        case O_SEED:
            if (cli_opt_u64(VERB, "--seed", optarg, 0, UINT64_MAX, &v)) return EXIT_USAGE;
            o.seed = v;
            break;
        case O_MONTAGE:
            if (cli_opt_u64(VERB, "--montage", optarg, 1, 10000, &v)) return EXIT_USAGE;
            o.montage_max = (int)v;
            break;
        case O_MAX:
            if (cli_opt_u64(VERB, "--max-drawings", optarg, 0, 100000000, &v)) return EXIT_USAGE;
            o.max_drawings = (size_t)v;
            break;
        default: return cli_opt_error(VERB, c, argv);
        }
    }
    if (optind < argc) return cli_usage_error(VERB, "unexpected argument '%s'", argv[optind]);
    if (!model_path || !data_path || !out_dir) return cli_usage_error(VERB, "--model, --data and --output are needed");
    if (o.k == 0 && o.k_max < o.k_min) return cli_usage_error(VERB, "--k-max %d is below --k-min %d", o.k_max, o.k_min);

    dd_model *m = NULL;
    dd_dataset *ds = NULL;
    if (explain_open(model_path, data_path, &m, &ds, &err)) return cli_report(VERB, &err);
    if (layer_text && dd_explain_find_layer(m, layer_text, &o.layer, &err)) {
        dd_dataset_close(ds);
        dd_model_free(m);
        return cli_report(VERB, &err);
    }
    dd_cluster_report r;
    int rc = dd_explain_clusters(m, ds, &o, out_dir, &r, &err);
    if (rc) {
        if (err.code == DD_ERR_USAGE) err.code = DD_ERR_RANGE; /* the options were fine; the data did not fit them */
        rc = cli_report(VERB, &err);
    } else if (r.n == 0) {
        printf("the set is empty (%s): nothing to cluster; wrote %s/summary.json\n",
               o.set == DD_CLUSTER_MISCLASSIFIED       ? "the model gets every test drawing right"
               : o.set == DD_CLUSTER_VAL_MISCLASSIFIED ? "the model gets every validation drawing right"
                                                       : "no drawing in it",
               out_dir);
    } else {
        char labels_path[4200]; /* the run's labels.json, beside its model (doodle serve's Mistakes view writes it) */
        dd_cluster_names names = {0};
        dd_labels_path_beside(model_path, labels_path, sizeof labels_path);
        if (dd_cluster_names_load(labels_path, m, ds, &r, &names, &err)) {
            fprintf(stderr, "doodle %s: cluster names not shown: %s\n", VERB, err.msg);
            dd_error_clear(&err);
        }
        print_report(m, &r, &names, out_dir, quiet);
        dd_cluster_names_free(&names);
    }
    if (rc == 0 && compare_path) rc = compare(m, ds, &o, out_dir, &r, compare_path, quiet);
    dd_cluster_report_free(&r);
    dd_dataset_close(ds);
    dd_model_free(m);
    return rc;
}
