/* doodle: every public header in one include. Link with $(pkg-config --cflags --libs doodle) after
 * `cmake --install` (docs/embedding.md). */
#ifndef DOODLE_H
#define DOODLE_H

/* util: errors, checked allocation, files written atomically, the RNG, the CPU count, the clock */
#include "doodle/alloc.h"
#include "doodle/clock.h"
#include "doodle/cpus.h"
#include "doodle/error.h"
#include "doodle/files.h"
#include "doodle/rng.h"
/* data: drawings, Quick, Draw! files, simplify, render, .dset sets, prep, the loader, augmentation, labels.json */
#include "doodle/augment.h"
#include "doodle/dataset.h"
#include "doodle/drawing.h"
#include "doodle/labels.h"
#include "doodle/loader.h"
#include "doodle/prep.h"
#include "doodle/quickdraw.h"
#include "doodle/render.h"
#include "doodle/simplify.h"
/* nn: layers, specs, models, optimizers, safetensors, the classifier */
#include "doodle/classify.h"
#include "doodle/layers.h"
#include "doodle/model.h"
#include "doodle/model_spec.h"
#include "doodle/optim.h"
#include "doodle/safetensors.h"
/* export: ONNX */
#include "doodle/export.h"
/* viz: picture grids, colour pictures */
#include "doodle/montage.h"
#include "doodle/picture.h"
/* numerics: PCA, K-Means, DBSCAN, silhouettes, t-SNE */
#include "doodle/numerics.h"
/* train: training, evaluation metrics, data-parallel training over MPI, the recipe search */
#include "doodle/dist.h"
#include "doodle/metrics.h"
#include "doodle/train.h"
#include "doodle/tune.h"
/* explain: attribution, activations, quality, the report, clustering */
#include "doodle/cluster.h"
#include "doodle/explain.h"
/* serve: the drawing page's server, the JSON of a prediction */
#include "doodle/serve.h"

#endif
