#ifndef CLAWKERD_HARDENING_H
#define CLAWKERD_HARDENING_H

#include <node_api.h>

/* hardenSelf(): PID 1's boot-time hardening; returns the soft core limit it replaced. */
napi_value harden_self(napi_env env, napi_callback_info info);

#endif
