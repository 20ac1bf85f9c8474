package agent

import (
	"errors"
	"fmt"
	"path"
	"reflect"
	"runtime"
	"strings"

	"github.com/ghostsim/ghostsim/sim"
)

// Crash describes how an agent process died of a crash, for reports: a
// panic in policy code (the library's own panics, such as a channel
// overflow, count as the policy's: they are how upstream's agent library
// CHECK-fails) or a crash something outside the policy caused (an
// injected fault: Kill with crash set).
type Crash struct {
	// At is the simulated time of the crash, since time 0.
	At Time
	// Injected says the process was killed as a crash from outside (a
	// configured fault), not by a panic of its own.
	Injected bool
	// Message is the panic's value as text, or the reason given for an
	// injected crash.
	Message string
	// Frame is where in the policy the panic happened (PolicyFrame);
	// empty for an injected crash.
	Frame string
}

// Crash reports how p crashed; ok is false if it did not.
func (p *Process) Crash() (c Crash, ok bool) {
	crashed, err := p.Crashed()
	if !crashed {
		return Crash{}, false
	}
	c.At = p.CrashedAt()
	var pe *sim.PanicError
	switch {
	case errors.As(err, &pe):
		c.Message = fmt.Sprint(pe.Value)
		c.Frame = PolicyFrame(pe.PCs)
	case err != nil:
		c.Injected, c.Message = true, err.Error()
	default:
		c.Injected = true
	}
	return c, true
}

// modulePath is ghostsim's module path and simPath its sim packages'
// common prefix (sim, sim/agent, sim/kernel, sim/hw: the model and the
// agent library, never a policy).
var (
	simPath    = path.Dir(reflect.TypeFor[Params]().PkgPath())
	modulePath = path.Dir(simPath)
)

// PolicyFrame returns the stack frame to blame for a panic in an agent:
// the innermost frame of pcs (a panicking stack, innermost first, as in
// sim.PanicError) whose function is in a policy's package — any package
// but the standard library (whose import paths have no dot in their
// first element: runtime, iter, sort, ...) and ghostsim's sim packages —
// as "FUNC at FILE:LINE", FILE being the package's import path (relative
// to ghostsim's module for its own packages, such as
// policies/fifocentral; nothing for package main) and the file's name, so
// the text does not depend on where the source lies. It is "" when no
// frame qualifies.
func PolicyFrame(pcs []uintptr) string {
	if len(pcs) == 0 {
		return ""
	}
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		if pkg := funcPackage(f.Function); f.Function != "" && isPolicyPackage(pkg) {
			dir := strings.TrimSuffix(pkg, "_test") // an external test package's directory
			dir = strings.TrimPrefix(strings.TrimPrefix(dir, modulePath), "/")
			if pkg == "main" {
				dir = "" // a command's import path says nothing of its directory
			}
			return fmt.Sprintf("%s at %s:%d", path.Base(f.Function), path.Join(dir, path.Base(f.File)), f.Line)
		}
		if !more {
			return ""
		}
	}
}

// funcPackage returns the import path of a runtime function name such as
// "github.com/x/y/pkg.(*T).M.func1" or "main.f".
func funcPackage(fn string) string {
	slash := strings.LastIndex(fn, "/")
	if dot := strings.Index(fn[slash+1:], "."); dot >= 0 {
		return fn[:slash+1+dot]
	}
	return fn
}

// isPolicyPackage reports whether pkg may hold policy code: neither the
// standard library nor one of ghostsim's sim packages.
func isPolicyPackage(pkg string) bool {
	if pkg == "main" {
		return true // a user's command that registers its policy
	}
	if first, _, _ := strings.Cut(pkg, "/"); !strings.Contains(first, ".") {
		return false
	}
	return pkg != simPath && !strings.HasPrefix(pkg, simPath+"/")
}
