// Command out_keeper_azmon is the Fluent Bit output plugin keeper_azmon,
// built with -buildmode=c-shared. This file holds the cgo exports and
// nothing else: every export recovers panics, and the work is done by
// package plugin.
package main

import "C"

import (
	"unsafe"

	"github.com/fluent/fluent-bit-go/output"
	"github.com/keeper-azmon/keeper-azmon/internal/fluentbit"
	"github.com/keeper-azmon/keeper-azmon/plugin"
)

// registry is the cgo instance registry: the plugin's only global.
var registry plugin.Registry

// properties reads an instance's properties through Fluent Bit's API.
type properties struct{ p unsafe.Pointer }

func (c properties) Get(key string) string { return output.FLBPluginConfigKey(c.p, key) }

//export FLBPluginRegister
func FLBPluginRegister(def unsafe.Pointer) (rc int) {
	defer func() {
		if v := recover(); v != nil {
			plugin.Panic("FLBPluginRegister", v)
			rc = -1 // what the proxy takes as a failed registration
		}
	}()
	return output.FLBPluginRegister(def, plugin.Name, plugin.Description)
}

//export FLBPluginInit
func FLBPluginInit(p unsafe.Pointer) (rc int) {
	defer registry.Drain()
	defer func() {
		if v := recover(); v != nil {
			plugin.Panic("FLBPluginInit", v)
			rc = output.FLB_ERROR
		}
	}()
	handle, err := registry.Open(properties{p}, fluentbit.Host(p))
	if err != nil {
		return output.FLB_ERROR
	}
	output.FLBPluginSetContext(p, handle)
	return output.FLB_OK
}

// FLBPluginFlushCtx takes the length as a C int: Fluent Bit 2.1's proxy
// passed an int, later ones a size_t, and the low 32 bits of either are
// the length of any chunk (chunks are a few MiB).
//
//export FLBPluginFlushCtx
func FLBPluginFlushCtx(ctx, data unsafe.Pointer, length C.int, tag *C.char) (rc int) {
	registry.Drain()
	defer registry.Drain()
	defer func() {
		if v := recover(); v != nil {
			plugin.Panic("FLBPluginFlushCtx", v)
			rc = output.FLB_RETRY
		}
	}()
	handle, ok := output.FLBPluginGetContext(ctx).(int)
	in := registry.Get(handle)
	if !ok || in == nil {
		plugin.Stray("FLBPluginFlushCtx")
		return output.FLB_RETRY
	}
	var chunk []byte
	if data != nil && length > 0 {
		chunk = unsafe.Slice((*byte)(data), int(length))
	}
	return int(in.Flush(chunk, C.GoString(tag)))
}

//export FLBPluginExitCtx
func FLBPluginExitCtx(ctx unsafe.Pointer) (rc int) {
	defer registry.Drain()
	defer func() {
		if v := recover(); v != nil {
			plugin.Panic("FLBPluginExitCtx", v)
			rc = output.FLB_ERROR
		}
	}()
	if handle, ok := output.FLBPluginGetContext(ctx).(int); ok {
		registry.Close(handle)
	}
	return output.FLB_OK
}

//export FLBPluginExit
func FLBPluginExit() (rc int) {
	defer registry.Drain()
	defer func() {
		if v := recover(); v != nil {
			plugin.Panic("FLBPluginExit", v)
			rc = output.FLB_ERROR
		}
	}()
	registry.CloseAll()
	return output.FLB_OK
}

//export FLBPluginUnregister
func FLBPluginUnregister(def unsafe.Pointer) {
	defer func() {
		if v := recover(); v != nil {
			plugin.Panic("FLBPluginUnregister", v)
		}
	}()
	output.FLBPluginUnregister(def)
}

func main() {}
