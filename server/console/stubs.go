package console

func (c *Console) campaignRoutes() {}
func (c *Console) myRoutes()       {}
