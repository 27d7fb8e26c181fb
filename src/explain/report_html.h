/* The report's HTML pieces moved to viz (viz/report_html.h), below train, whose tune summary page uses them too.
 * This forwarding header keeps the includes of the report's files building; change them and delete it. */
#ifndef DOODLE_EXPLAIN_REPORT_HTML_H
#define DOODLE_EXPLAIN_REPORT_HTML_H

#include "viz/report_html.h"

#endif
