//go:build !unix

package sdkbench

import "time"

func cpuTime() time.Duration { return 0 }
