/*
 * drawbridge.h: what drawbridge offers WebAssembly guests beyond WASI preview 1, through its
 * "drawbridge" import module. One header per family; include this one for all of them.
 */
#ifndef DRAWBRIDGE_H
#define DRAWBRIDGE_H

#include "drawbridge/process.h"
#include "drawbridge/net.h"
#include "drawbridge/fb.h"

#endif /* DRAWBRIDGE_H */
