/* doodle: everything in one include. Link with -ldoodle $(pkg-config --libs cairo) -lz -lm. */
#ifndef DOODLE_H
#define DOODLE_H

#include "doodle/dataset.h"
#include "doodle/drawing.h"
#include "doodle/error.h"
#include "doodle/montage.h"
#include "doodle/prep.h"
#include "doodle/quickdraw.h"
#include "doodle/render.h"
#include "doodle/rng.h"
#include "doodle/simplify.h"

#endif
