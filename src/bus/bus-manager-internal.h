/* The Manager object's members (bus-manager-methods.c), published by bus-manager.c. */
#pragma once

#include <systemd/sd-bus.h>

/* userdata: the daemon's Manager. */
extern const sd_bus_vtable bus_manager_vtable[];
