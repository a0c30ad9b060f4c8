/* files_int: the file-extraction state a sensor owns (libmagic cookies, the
 * quarantine and its size accounting).  Used by sensor.c only. */
#ifndef MM_SENSOR_FILES_INT_H
#define MM_SENSOR_FILES_INT_H

#include "sensor_int.h"

typedef struct mm_sensor_files mm_sensor_files;

int mm_sensor_files_new(mm_sensor_files **out, const mm_sensor_opts *o, mm_err *err);
void mm_sensor_files_free(mm_sensor_files *fs);
/* Adds files, files_truncated, files_stored. */
void mm_sensor_files_stats(const mm_sensor_files *fs, mm_sensor_stats *out);
mm_sensor_files *mm_sensor_files_of(mm_flow *f);

#endif
