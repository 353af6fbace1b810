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

/* Users and API keys (bus-manager-users.c); userdata: the Manager. */
int bus_method_create_user(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_set_password(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_list_users(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_disable_mfa(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_create_api_key(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_list_api_keys(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_revoke_api_key(sd_bus_message *message, void *userdata, sd_bus_error *error);

/* Schedules (bus-manager-schedules.c); userdata: the Manager. */
int bus_method_list_schedules(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_pause_schedule(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_resume_schedule(sd_bus_message *message, void *userdata, sd_bus_error *error);

/* Dedicated workers (bus-manager-workers.c); userdata: the Manager. */
int bus_method_list_workers(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_start_worker(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_stop_worker(sd_bus_message *message, void *userdata, sd_bus_error *error);
