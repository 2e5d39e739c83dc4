package emu

import (
	"fmt"
	"sync"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/emu/unicorn"
)

// cpus caches, per arch, what the guest is told about its CPU. The linked
// engine cannot change while the program runs, so each arch is probed once.
var cpus sync.Map // *arch.Arch -> *cpuProbe

type cpuProbe struct {
	once sync.Once
	cpu  arch.CPU
	err  error
}

// GuestCPU returns the CPU a guest of arch a is shown: the CPUID answers and
// HWCAP with exactly the candidate features whose instructions execute on
// the linked Unicorn.
func GuestCPU(a *arch.Arch) (arch.CPU, error) {
	v, _ := cpus.LoadOrStore(a, &cpuProbe{})
	c := v.(*cpuProbe)
	c.once.Do(func() {
		var probed []arch.CPUFeature
		var snippets [][]byte
		for _, f := range a.Features {
			if f.Probe != nil {
				probed = append(probed, f)
				snippets = append(snippets, f.Probe)
			}
		}
		ran, err := unicorn.Probe(unicorn.Arch(a.UnicornArch), unicorn.Mode(a.UnicornMode), a.CPUModel, snippets)
		if err != nil {
			c.err = fmt.Errorf("emu: probing the %s CPU's features: %w", a, err)
			return
		}
		runs := map[string]bool{}
		for i, f := range probed {
			runs[f.Name] = ran[i]
		}
		c.cpu = a.CPU(func(f arch.CPUFeature) bool { return runs[f.Name] })
	})
	return c.cpu, c.err
}
