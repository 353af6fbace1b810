/* The table of node components this build can run, one entry per component type, ended
 * by a zeroed entry. component_find() (engine/component.c) looks types up in it. */
#pragma once

#include "engine/component.h"

extern const Component components[];
