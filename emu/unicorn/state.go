package unicorn

/*
#include "hooks.h"
*/
import "C"

// EngineState is what the engine keeps of a guest beyond its memory and
// CPU registers: the instruction clock and the seeded random source
// (arm64's RNDR).
type EngineState struct {
	Insns, Random uint64
}

// State returns the engine's guest state, for SetState.
func (e *Engine) State() EngineState {
	if e.st == nil {
		return EngineState{}
	}
	return EngineState{Insns: uint64(e.st.insns), Random: uint64(e.st.random)}
}

// SetState puts back a state State returned, for a process taken back to
// an earlier point.
func (e *Engine) SetState(s EngineState) error {
	if err := e.check(); err != nil {
		return err
	}
	e.st.insns = C.uint64_t(s.Insns)
	e.st.random = C.uint64_t(s.Random)
	return nil
}

// ForgetCode drops all translated code, with the instruction counts
// learned from it: after the host wrote other contents into memory code
// came from, which the engine does not see.
func (e *Engine) ForgetCode() error {
	if err := e.check(); err != nil {
		return err
	}
	if !e.started {
		return nil
	}
	return ucErr(C.gre_forget_code(e.st), "drop translated code")
}
