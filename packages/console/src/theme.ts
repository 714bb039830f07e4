import type { ThemeConfig } from 'antd';

export const FONT_FAMILY =
  "-apple-system, BlinkMacSystemFont, 'Segoe UI', 'PingFang SC', 'Hiragino Sans GB', 'Microsoft YaHei', 'Noto Sans CJK SC', 'Noto Sans SC', 'Helvetica Neue', Arial, sans-serif";

export const theme: ThemeConfig = {
  token: {
    colorPrimary: '#1f5eff',
    colorInfo: '#1f5eff',
    colorSuccess: '#16a34a',
    colorWarning: '#d97706',
    colorError: '#dc2626',
    borderRadius: 8,
    fontFamily: FONT_FAMILY,
    fontSize: 14,
    colorBgLayout: '#f4f6fb',
  },
  components: {
    Layout: { headerBg: '#ffffff', siderBg: '#ffffff', headerHeight: 56, headerPadding: '0 20px', bodyBg: '#f4f6fb', footerBg: '#f4f6fb' },
    Menu: { itemBorderRadius: 8, itemMarginInline: 8, itemHeight: 42, itemSelectedBg: '#eef3ff', itemSelectedColor: '#1f5eff' },
    Table: { headerBg: '#f7f8fb', headerColor: '#4b5563', rowHoverBg: '#f5f8ff' },
    Card: { headerFontSize: 15 },
  },
};
