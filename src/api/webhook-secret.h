/* A webhook trigger's secret (extra_config.secret of a trigger_webhook node) is stored
 * sealed with the vault and never answered: the store shows it as NODE_SECRET_MASK. */
#pragma once

#include <jansson.h>

#include "common/vault.h"

/* Seals the secret of a node body (create, patch or import) in place. current: the node as
 * stored with its secret (store_node_get_with_secrets()) for a patch, where the mask
 * stands for the secret kept; NULL for a new node, where the mask is refused. 0, or
 * -EINVAL with *ret_error (static text). */
int webhook_secret_seal(const Vault *vault, const char *component_type, json_t *body, json_t *current,
                        const char **ret_error);

/* The secret to check a request against, from what is stored: opened when sealed, as is
 * when stored before sealing existed. NULL when none; -EBADMSG when it does not open. */
int webhook_secret_open(const Vault *vault, const char *stored, char **ret);
