package sampling_test

import (
	"fmt"

	"github.com/vigilhq/vigil/sdk/sampling"
)

func ExampleProbabilityToThreshold() {
	for _, p := range []float64{1, 0.5, 0.25, 0.1, 0.01} {
		fmt.Printf("p=%-4g ot=th:%s\n", p, sampling.ProbabilityToThreshold(p))
	}
	// Output:
	// p=1    ot=th:0
	// p=0.5  ot=th:8
	// p=0.25 ot=th:c
	// p=0.1  ot=th:e6666666666666
	// p=0.01 ot=th:fd70a3d70a3d71
}
