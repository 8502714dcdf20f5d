package config

// Traces configures the traces store. Owned by the traces feature; fields are added
// there.
type Traces struct{}

func (x *Traces) setDefaults() {}

func (x *Traces) validate() []FieldError { return nil }
