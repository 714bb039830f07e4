/** The simulated brand's products: a tea house selling online (mall, Youzan, Tmall, Douyin) and by delivery (Meituan). Prices in fen. */

export interface Product {
  readonly productId: string;
  readonly skuId: string;
  readonly title: string;
  readonly priceFen: number;
}

export const SHOP_PRODUCTS: readonly Product[] = [
  { productId: '900770653', skuId: '37186796', title: '桂花乌龙茶 礼盒装 250g', priceFen: 12800 },
  { productId: '900770654', skuId: '37186797', title: '茉莉花茶 罐装 100g', priceFen: 5990 },
  { productId: '900770655', skuId: '37186798', title: '正山小种 红茶 200g', priceFen: 8850 },
  { productId: '900770656', skuId: '37186799', title: '白毫银针 白茶饼 357g', priceFen: 26800 },
  { productId: '495651017', skuId: '37186800', title: '玻璃茶杯 300ml', priceFen: 2000 },
  { productId: '495651018', skuId: '37186801', title: '便携旅行茶具 一壶两杯', priceFen: 15900 },
  { productId: '495651019', skuId: '37186802', title: '冷泡茶 三角包 12袋', priceFen: 3990 },
  { productId: '495651020', skuId: '37186803', title: '陈皮普洱 小青柑 500g', priceFen: 19900 },
];

/** Meituan sells drinks and snacks from the store (prices such as 18.5 yuan, as Meituan prints them). */
export const STORE_PRODUCTS: readonly Product[] = [
  { productId: 'MT-TEA-01', skuId: 'MT-TEA-01', title: '手打柠檬茶 大杯', priceFen: 1850 },
  { productId: 'MT-TEA-02', skuId: 'MT-TEA-02', title: '桂花乌龙奶茶', priceFen: 1600 },
  { productId: 'MT-TEA-03', skuId: 'MT-TEA-03', title: '茉莉绿茶 冷泡', priceFen: 1200 },
  { productId: 'MT-SNK-01', skuId: 'MT-SNK-01', title: '抹茶麻薯 4只', priceFen: 2250 },
  { productId: 'MT-SNK-02', skuId: 'MT-SNK-02', title: '桂花糕', priceFen: 990 },
];

export const SURNAMES = ['王', '李', '张', '刘', '陈', '杨', '黄', '赵', '吴', '周', '徐', '孙', '马', '朱', '胡', '郭', '何', '林', '罗', '高'] as const;
export const GIVEN_NAMES = [
  '伟', '芳', '娜', '敏', '静', '丽', '强', '磊', '洋', '艳', '勇', '军', '杰', '娟', '涛', '明', '超', '秀英', '霞', '平',
  '晓燕', '子涵', '雨桐', '浩然', '欣怡', '梓轩', '诗琪', '一诺', '思远', '佳怡',
] as const;

/** Mobile prefixes of the three carriers that libphonenumber knows as valid Chinese mobiles. */
export const MOBILE_PREFIXES = [
  '130', '131', '132', '133', '135', '136', '137', '138', '139', '150', '151', '152', '153', '155', '156', '157', '158', '159',
  '180', '181', '182', '183', '185', '186', '187', '188', '189',
] as const;

export const PAGES = ['首页', '分类', '商品详情', '活动页 双11', '会员中心'] as const;
export const REFUND_REASONS = ['多拍/拍错/不想要', '商品破损', '口味不喜欢', '发货太慢', '商品少送'] as const;
