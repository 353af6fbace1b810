/* The Manager object's members (bus-manager-methods.c), published by bus-manager.c. */
#pragma once

#include <systemd/sd-bus.h>

/* userdata: the daemon's Manager. */
extern const sd_bus_vtable bus_manager_vtable[];

typedef struct Manager Manager;

/* Subscribe()/Unsubscribe(): the caller gets the Manager's signals until it unsubscribes or
 * leaves the bus. */
int bus_subscribe(Manager *m, sd_bus_message *message);
int bus_unsubscribe(Manager *m, sd_bus_message *message);
