-- wrk: POST a small JSON body to the webhook (bench/engine-webhook.sh).
wrk.method = "POST"
wrk.body = '{"items": [1, 2, 3], "name": "bench"}'
wrk.headers["Content-Type"] = "application/json"
