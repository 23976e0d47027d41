// The dashboard's entry point (bundled by src/admin/dashboard.ts with esbuild).
import { AdminApi } from './api.ts'
import { DashboardApp } from './app.ts'

void new DashboardApp(new AdminApi()).boot()
