package config

// Logs configures the logs store. Owned by the logs feature; fields are added
// there.
type Logs struct{}

func (x *Logs) setDefaults() {}

func (x *Logs) validate() []FieldError { return nil }
