// Package policies holds ghostsim's ghOSt scheduling policies, one
// subpackage each, written only against sim/agent (TestImports enforces
// it). Importing this package registers them all.
package policies

import (
	// Each policy registers itself with agent.Register.
	_ "github.com/ghostsim/ghostsim/policies/fifocentral"
	_ "github.com/ghostsim/ghostsim/policies/fifopercpu"
	_ "github.com/ghostsim/ghostsim/policies/roundrobin"
	_ "github.com/ghostsim/ghostsim/policies/search"
	_ "github.com/ghostsim/ghostsim/policies/securevm"
	_ "github.com/ghostsim/ghostsim/policies/shinjuku"
	_ "github.com/ghostsim/ghostsim/policies/snap"
)
