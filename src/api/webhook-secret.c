/* Sealing and opening webhook secrets (webhook-secret.h). */

#include <errno.h>
#include <string.h>

#include "api/webhook-secret.h"
#include "common/json-util.h"
#include "store/store-nodes.h"

#define WEBHOOK_TRIGGER "trigger_webhook"
/* Sealed values start so (vault.h); what does not was stored in clear by older versions. */
#define SEALED_PREFIX "v1:"
/* Authenticated with the value: a sealed webhook secret opens as nothing else. */
#define SECRET_CONTEXT "trigger_webhook/secret"

static json_t *extra_config(json_t *node) {
        return json_object_get(json_object_get(node, "config"), "extra_config");
}

int webhook_secret_seal(const Vault *vault, const char *component_type, json_t *body, json_t *current,
                        const char **ret_error) {
        json_t *extra = extra_config(body), *secret = json_object_get(extra, "secret"), *kept;
        const char *text = json_string_value(secret);
        char *sealed = NULL;
        int r;

        if (!streq_ptr(component_type, WEBHOOK_TRIGGER) || !text || *text == '\0')
                return 0;

        if (streq(text, NODE_SECRET_MASK)) {
                kept = json_object_get(extra_config(current), "secret");
                if (!current || !json_is_string(kept)) {
                        *ret_error = current ? "extra_config.secret: there is no secret to keep; send the secret"
                                             : "extra_config.secret: an exported workflow does not carry its "
                                               "webhook's secret; send the secret";
                        return -EINVAL;
                }
                return json_object_set(extra, "secret", kept) < 0 ? -ENOMEM : 0;
        }
        if (!vault) {
                *ret_error = "extra_config.secret: secrets cannot be stored without the daemon's key";
                return -EINVAL;
        }
        r = vault_seal(vault, SECRET_CONTEXT, text, strlen(text), &sealed);
        if (r < 0)
                return r;
        r = json_object_set_new(extra, "secret", json_string(sealed));
        free(sealed);
        return r < 0 ? -ENOMEM : 0;
}

int webhook_secret_open(const Vault *vault, const char *stored, char **ret) {
        size_t size;

        *ret = NULL;
        if (!stored || *stored == '\0')
                return 0;
        if (strncmp(stored, SEALED_PREFIX, strlen(SEALED_PREFIX)) != 0) {
                *ret = strdup(stored);
                return *ret ? 0 : -ENOMEM;
        }
        if (!vault)
                return -EBADMSG;
        return vault_open(vault, SECRET_CONTEXT, stored, ret, &size);
}
