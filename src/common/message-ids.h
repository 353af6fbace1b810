/* The journal's MESSAGE_ID= of pipelitd's catalogued messages: data/catalog/pipelit.catalog
 * explains each one (journalctl -x shows it). Generated once with systemd-id128 new; an id
 * never changes, or journalctl MESSAGE_ID=… and the catalog stop finding the messages. */
#pragma once

/* The daemon serves: its listeners are open and READY=1 was sent. */
#define MESSAGE_ID_DAEMON_STARTED "c87dfed44bea420b99b9200c28f3c027"
/* The daemon stops: a signal, or the idle time of a socket-activated daemon. */
#define MESSAGE_ID_DAEMON_STOPPING "da3089385cbb487489d5139b40916916"
/* An execution ended failed. */
#define MESSAGE_ID_EXECUTION_FAILED "c34d609191b9495ab7b1f1b8172967f2"
/* A budget stopped a model call; the node's run fails. */
#define MESSAGE_ID_BUDGET_EXCEEDED "e3b347ee56f549b6bd7eea678f971a9c"
