package console

func (c *Console) campaignRoutes() {}
